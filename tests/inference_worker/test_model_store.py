"""Finding models: built-ins from their wheels or this package, conversion to IR once, clear errors for bad files."""

from __future__ import annotations

import dataclasses

import openvino as ov
import pytest

from inference_worker.model_store import BUILTINS, ModelError, load_model


def test_a_slow_model_is_converted_to_ir_once_and_then_read_from_the_cache(tmp_path, caplog):
    core = ov.Core()
    caplog.set_level("INFO", logger="ei.models")
    first = load_model(core, "builtin:people", cache_dir=tmp_path)
    assert "converting frozen_inference_graph.pb" in caplog.text
    (converted,) = tmp_path.glob("ir/*/model.xml")
    assert converted.with_suffix(".bin").stat().st_size > 1_000_000
    caplog.clear()
    second = load_model(core, "builtin:people", cache_dir=tmp_path)
    assert "converting" not in caplog.text
    assert [list(m.model.input(0).get_shape()) for m in (first, second)] == [[1, 300, 300, 3]] * 2
    assert second.family == "tf_od" and second.labels == ("background", "person") and second.threshold == 0.5
    assert not list(tmp_path.glob("ir/.tmp-*")), "no half-written conversion is left behind"


def test_a_user_model_gets_no_builtin_defaults(tmp_path):
    from tests.inference_worker.synthetic_models import ssd_model

    ssd_model(tmp_path)
    (xml,) = tmp_path.glob("*.xml")
    loaded = load_model(ov.Core(), str(xml), cache_dir=tmp_path)
    assert loaded.family is None and loaded.labels == () and loaded.threshold is None


def test_an_xml_without_its_weights_is_a_clear_error(tmp_path):
    from tests.inference_worker.synthetic_models import ssd_model

    ssd_model(tmp_path)
    (xml,) = tmp_path.glob("*.xml")
    xml.with_suffix(".bin").unlink()
    with pytest.raises(ModelError, match="cannot read model"):
        load_model(ov.Core(), str(xml), cache_dir=tmp_path)


def test_the_vehicle_detector_is_converted_once_to_an_ir_that_needs_no_extension(tmp_path, caplog):
    core = ov.Core()
    caplog.set_level("INFO", logger="ei.models")
    first = load_model(core, "builtin:vehicles", cache_dir=tmp_path)
    assert "converting mobilenet_ssd_v2_coco_quant_postprocess.tflite" in caplog.text
    (converted,) = tmp_path.glob("ir/*/model.xml")
    assert converted.with_suffix(".bin").stat().st_size > 5_000_000
    caplog.clear()
    second = load_model(core, "builtin:vehicles", cache_dir=tmp_path)
    assert "converting" not in caplog.text
    plain = ov.Core().read_model(str(converted))  # a Core without the extension reads the cached IR
    for model in (first.model, second.model, plain):
        assert [list(port.get_shape()) for port in model.outputs] == [[1, 1917, 4], [1, 1917, 91], [1917, 4]]
        assert list(model.input(0).get_shape()) == [1, 300, 300, 3] and model.input(0).get_element_type() == ov.Type.u8
    assert second.family == "ssd_anchors" and len(second.labels) == 91 and second.threshold == 0.5


def test_reading_the_vehicle_detector_leaves_the_core_as_it_was(tmp_path):
    """The op's translation is the built-in's: the same file given as a user's path still cannot be read."""
    core = ov.Core()
    load_model(core, "builtin:vehicles", cache_dir=tmp_path)
    with pytest.raises(ModelError, match="No translator found for TFLite_Detection_PostProcess"):
        load_model(core, str(BUILTINS["builtin:vehicles"].file), cache_dir=tmp_path)


def test_a_corrupt_or_missing_vehicle_detector_is_a_clear_error(tmp_path, monkeypatch):
    builtin = BUILTINS["builtin:vehicles"]
    corrupt = tmp_path / builtin.file.name
    corrupt.write_bytes(builtin.file.read_bytes()[:1_000_000])  # e.g. a download or copy cut short
    monkeypatch.setitem(BUILTINS, "builtin:vehicles", dataclasses.replace(builtin, file=corrupt))
    with pytest.raises(ModelError, match=f"cannot read model {corrupt.name}: the file is corrupt"):
        load_model(ov.Core(), "builtin:vehicles", cache_dir=tmp_path)
    corrupt.unlink()
    with pytest.raises(ModelError, match="is missing from the worker's package"):
        load_model(ov.Core(), "builtin:vehicles", cache_dir=tmp_path)
    assert not list(tmp_path.glob("ir/*")), "nothing cached from a file that could not be read"
