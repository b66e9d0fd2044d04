"""Finding models: built-ins from their wheels, conversion to IR once, clear errors for bad files."""

from __future__ import annotations

import openvino as ov
import pytest

from inference_worker.model_store import ModelError, load_model


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
