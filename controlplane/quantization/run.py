"""One quantization job, run in the Celery worker: frames, NNCF, a new registry model validated like an
upload, then the INT8 model measured against its parent on the held-out frames.

Each phase writes the job's state and progress; a cancel is looked at between phases and about twice a
second while frames are collected. However the job ends, it leaves nothing behind but what it reports:
the new model only when it is ``done``, never its images, never a temporary file. A thread writes a sign of
life every few seconds while the job runs (NNCF holds the main thread for seconds to minutes), so a job whose
worker died is told from one that is busy (``actions.quantization_fail_interrupted``).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import openvino as ov
from django.conf import settings
from django.core.files import File
from django.db import connection

from controlplane.quantization import actions, collect, selectors
from controlplane.quantization import images as stored_images
from controlplane.quantization.models import QuantizationJob
from controlplane.registry import actions as registry
from controlplane.registry.models import AUTO_FAMILY, InferenceModel
from controlplane.registry.validation import local_spec, model_validate
from inference_worker.model_store import LoadedModel, ModelError, load_model, shared_core
from inference_worker.quantization import as_jpeg, compare, quantize
from inference_worker.runtime import REDIS_ERRORS, redis_client

log = logging.getLogger("ei.quantization")

State = QuantizationJob.State
# Where each phase starts on the job's progress bar (collecting takes the first part, frame by frame).
PROGRESS = {State.COLLECTING: 0.0, State.QUANTIZING: 0.6, State.VALIDATING: 0.8, State.MEASURING: 0.9, State.DONE: 1.0}
REPORT_EVERY = 0.5  # seconds between writes of the collection's progress (and looks at a cancel)
SIGN_OF_LIFE_EVERY = 5.0


class Cancelled(Exception):
    pass


class JobFailed(Exception):
    """A reason a person can act on."""


@contextlib.contextmanager
def _signs_of_life(job_id: int) -> Iterator[None]:
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(SIGN_OF_LIFE_EVERY):
                try:
                    actions.job_touch(job_id=job_id)
                except Exception:  # a locked database now and then must not end the job
                    log.warning("quantization %s: could not write its sign of life", job_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"quantization-{job_id}-alive", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def derived_name(parent: InferenceModel, job_id: int) -> tuple[str, str]:
    """``<parent>-int8`` with version ``<parent version>-q<job id>``: readable, and unique per job."""
    name = f"{parent.name[:59]}-int8"
    suffix = f"-q{job_id}"
    return name, f"{parent.version[: 32 - len(suffix)]}{suffix}"


class JobRun:
    def __init__(self, job: QuantizationJob):
        self.job = job
        self.parent: InferenceModel = job.model
        self.family = None if self.parent.output_family == AUTO_FAMILY else self.parent.output_family
        self.threshold: float | None = None  # the parent's default (a built-in's), for both in the comparison
        self.core = shared_core()

    # progress and cancel

    def report(self, state: str, message: str, **fields) -> None:
        actions.job_report(job_id=self.job.pk, state=state, message=message, progress=PROGRESS[state], **fields)

    def check_cancel(self) -> None:
        if selectors.cancel_requested(job_id=self.job.pk):
            raise Cancelled

    def _collection_progress(self, needed: int) -> Callable[[int], None]:
        last = [0.0]

        def progress(collected: int) -> None:
            now = time.monotonic()
            if now - last[0] < REPORT_EVERY and collected < needed:
                return
            last[0] = now
            self.check_cancel()
            actions.job_report(
                job_id=self.job.pk, collected=collected, progress=PROGRESS[State.QUANTIZING] * collected / needed,
                message=f"collecting frames: {collected} of {needed}",
            )

        return progress

    # the phases

    def frames(self) -> list[bytes]:
        job, needed = self.job, self.job.frames_needed
        progress = self._collection_progress(needed)
        if job.stream_name:
            client = redis_client(settings.REDIS_URL)  # socket timeout above the blocking read's
            try:
                return collect.collect_frames(
                    client, job.stream_name, needed, idle_seconds=settings.EI_QUANTIZATION_IDLE_SECONDS,
                    on_progress=progress,
                )
            except collect.NoResults as exc:
                raise JobFailed(str(exc)) from None
            except REDIS_ERRORS as exc:
                raise JobFailed(f"Redis is unreachable, so no frames can be read ({exc}); try again") from None
            finally:
                client.close()
        frames = []
        for index, name in enumerate(job.images):
            try:
                frames.append(as_jpeg(stored_images.read_image(name)))
            except ModelError as exc:
                raise JobFailed(f"uploaded image {index + 1} of {len(job.images)}: {exc}") from None
            progress(len(frames))
        return frames

    def load(self, model: InferenceModel, spec: str) -> LoadedModel:
        try:
            return load_model(self.core, spec)
        except ModelError as exc:  # name the file as the user uploaded it, not by a path on this server
            folder = None if model.builtin else f"{Path(spec).parent}/"
            raise JobFailed(f"model {model}: {str(exc).replace(folder, '') if folder else exc}") from None

    def quantized(self, calibration: list[bytes], folder: Path) -> Path:
        with local_spec(self.parent) as spec:
            loaded = self.load(self.parent, spec)
            try:
                int8 = quantize(loaded, calibration, family=self.family)
            except ModelError as exc:
                raise JobFailed(f"cannot quantize model {self.parent}: {exc}") from None
        if self.family is None:
            self.family = loaded.family
        self.threshold = loaded.threshold
        xml = folder / f"{self.parent.name}-int8.xml"
        ov.save_model(int8, str(xml), compress_to_fp16=False)
        return xml

    def register(self, xml: Path) -> InferenceModel:
        parent, job = self.parent, self.job
        name, version = derived_name(parent, job.pk)
        with xml.open("rb") as model_file, xml.with_suffix(".bin").open("rb") as weights:
            model = registry.model_create(
                name=name, version=version, file=File(model_file, name=xml.name),
                weights=File(weights, name=xml.with_suffix(".bin").name), task=parent.task, labels=parent.labels,
                precision=InferenceModel.Precision.INT8, output_family=self.family or AUTO_FAMILY,
                derived_from=parent, calibration={"source": job.source, "frames": job.frame_count},
                queue_validation=False,
            )
        job.result = model  # from now on, a failure deletes it
        actions.job_report(job_id=job.pk, result=model)
        return model

    def validated(self, model: InferenceModel) -> InferenceModel:
        validated = model_validate(model_id=model.pk)
        if validated is None:
            raise JobFailed(f"the INT8 model {model} was deleted while it was validated")
        if validated.status != InferenceModel.Status.READY:
            raise JobFailed(f"the INT8 model {model} failed validation: {validated.status_message}")
        return validated

    def measure(self, model: InferenceModel, held_out: list[bytes]) -> dict:
        with local_spec(self.parent) as parent_spec, local_spec(model) as spec:
            reference, candidate = self.load(self.parent, parent_spec), self.load(model, spec)
            try:
                # Both with the parent's settings: its threshold and the labels it reports by default (an IR
                # made from a built-in carries neither).
                comparison = compare(
                    reference, candidate, held_out, family=self.family, labels=self.parent.labels,
                    threshold=self.threshold, keep=reference.keep,
                    seconds=settings.EI_QUANTIZATION_MEASURE_SECONDS,
                )
            except ModelError as exc:
                raise JobFailed(f"cannot compare {model} with {self.parent}: {exc}") from None
        agreement = {
            "precision": comparison.precision, "recall": comparison.recall, "f1": comparison.f1,
            "mean_score_shift": comparison.mean_score_shift, "frames": comparison.frames,
            "fp32_fps": comparison.reference_fps, "int8_fps": comparison.candidate_fps,
        }
        registry.model_record_comparison(model=model, speedup=comparison.speedup, agreement=agreement)
        return agreement | {"speedup": comparison.speedup}

    def run(self) -> str:
        job = self.job
        frames = self.frames()
        calibration, held_out = frames[: job.frame_count], frames[job.frame_count:]
        self.check_cancel()
        self.report(State.QUANTIZING, f"quantizing with NNCF on {len(calibration)} frames", collected=len(frames))
        with tempfile.TemporaryDirectory(prefix="ei-quantize-") as folder:
            xml = self.quantized(calibration, Path(folder))
            self.check_cancel()
            self.report(State.VALIDATING, "validating the INT8 model")
            model = self.register(xml)
        model = self.validated(model)
        self.check_cancel()
        self.report(State.MEASURING, f"measuring INT8 against {self.parent} on {len(held_out)} held-out frames")
        figures = self.measure(model, held_out)
        self.check_cancel()
        return (
            f"made {model}: {figures['speedup']:.2f}x the throughput of {self.parent} "
            f"({figures['int8_fps']:.1f} against {figures['fp32_fps']:.1f} fps), F1 {figures['f1']:.2f} "
            f"on {figures['frames']} held-out frames"
        )


def run_job(job_id: int, *, worker: str = "") -> QuantizationJob | None:
    """Run a queued job to its end; a job cancelled or taken already is a no-op (None)."""
    if not actions.job_claim(job_id=job_id, worker=worker):
        return None
    end: dict = {"state": State.FAILED, "message": "the job was interrupted"}
    known = None
    try:
        with _signs_of_life(job_id):
            try:
                known = selectors.job_get(job_id=job_id)
                summary = JobRun(known).run()
                end = {"state": State.DONE, "message": summary, "progress": 1.0}
            except Cancelled:
                end = {"state": State.CANCELLED, "message": "cancelled; what it had made is deleted"}
            except JobFailed as exc:
                end["message"] = str(exc)
            except Exception as exc:
                log.exception("quantization %s crashed", job_id)
                end["message"] = f"the job crashed ({type(exc).__name__}: {exc}); see the Celery worker's log"
    finally:
        job = actions.job_end(job_id=job_id, known=known, **end)
        if job is None:
            log.info("quantization %s was deleted (with its model) while it ran; what it made is deleted", job_id)
        else:
            log.info("quantization %s: %s: %s", job_id, job.state, job.message)
    return job
