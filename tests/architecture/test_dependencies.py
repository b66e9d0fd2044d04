"""The direction rule of ARCHITECTURE.md, checked: import-linter's contracts (``.importlinter``), and the web
process free of the inference stack."""

from __future__ import annotations

import configparser
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import inference_worker

ROOT = Path(__file__).resolve().parents[2]
PRODUCERS_MAY_USE = {"protocol", "runtime"}
HEAVY = ("cv2", "openvino", "simplejpeg", "nncf")


def test_the_import_contracts_hold():
    run = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_the_producers_contract_names_every_other_worker_module():
    """A new worker module is forbidden to producers until someone decides otherwise."""
    contracts = configparser.ConfigParser()
    contracts.read(ROOT / ".importlinter")
    forbidden = set(contracts["importlinter:contract:producers-use-the-protocol-only"]["forbidden_modules"].split())
    modules = {info.name for info in pkgutil.iter_modules(inference_worker.__path__)} - {"__main__"}
    assert {f"inference_worker.{name}" for name in modules - PRODUCERS_MAY_USE} <= forbidden


def test_the_web_process_does_not_load_openvino_or_opencv():
    """What the web server loads (the ASGI application with every URL route, the admin and the websockets'
    feeds); a model upload is checked without them, its validation imports them in the Celery worker, as quantization
    does (NNCF too)."""
    probe = (
        "import os, sys, json\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'controlplane.config.settings')\n"
        "from controlplane.config.asgi import application\n"
        "import django.urls, django.contrib.admin\n"
        "django.urls.get_resolver().url_patterns\n"
        "django.contrib.admin.site.get_urls()\n"
        "import controlplane.realtime.fanout, controlplane.registry.tasks, controlplane.registry.uploads\n"
        "import controlplane.quantization.tasks, controlplane.quantization.actions\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(run.stdout.splitlines()[-1]) == []
