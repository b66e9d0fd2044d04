"""Certificate authorities and certificates made with the openssl command: for the node's parts, the test
API server's front proxy and the metrics API's serving certificate. ECDSA P-256 keys: instant to make.
Standard library only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def _openssl(*args) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, text=True)


def make_ca(folder: Path, name: str, subject: str) -> None:
    """``<name>.key`` and a self-signed ``<name>.crt`` in ``folder``, valid ten years."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", folder / f"{name}.key", "-out", folder / f"{name}.crt", "-days", "3650", "-subj", f"/CN={subject}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_cert(folder: Path, name: str, cn: str, *, org: str = "", sans: list[str] | None = None, ca: str = "ca",
              ca_folder: Path | None = None) -> None:
    """One key and certificate signed by the CA ``ca`` (in ``ca_folder``, default ``folder``): a server and
    client certificate when it has SANs (``DNS:x``, ``IP:y``), else a client one only."""
    authority = ca_folder or folder
    subject = f"/CN={cn}" + (f"/O={org}" if org else "")
    key, csr, crt, ext = (folder / f"{name}{suffix}" for suffix in (".key", ".csr", ".crt", ".ext"))
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
             "-out", csr, "-subj", subject)
    usage = "serverAuth,clientAuth" if sans else "clientAuth"
    ext.write_text("keyUsage=critical,digitalSignature,keyEncipherment\n"
                   f"extendedKeyUsage={usage}\n" + (f"subjectAltName={','.join(sans)}\n" if sans else ""))
    _openssl("x509", "-req", "-in", csr, "-CA", authority / f"{ca}.crt", "-CAkey", authority / f"{ca}.key",
             "-set_serial", int.from_bytes(os.urandom(8), "big"), "-days", "3650", "-out", crt, "-extfile", ext)
    csr.unlink()
    ext.unlink()
