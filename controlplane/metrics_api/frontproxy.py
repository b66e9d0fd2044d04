"""Who is asking: the aggregation layer's front-proxy authentication, checked the way the API server's
request-header authenticator checks it.

The API server forwards a request with its front-proxy client certificate and the caller's identity in
headers. Only a certificate that chains to the ``requestheader-client-ca-file`` the cluster publishes, and
whose common name is an allowed one, makes those headers believable; anything else is unauthenticated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import crypto

#: Where the API server publishes its front-proxy settings, readable with the role
#: ``extension-apiserver-authentication-reader``.
CONFIG_MAP = ("kube-system", "extension-apiserver-authentication")


class Unauthenticated(Exception):
    """The message says why, for the 401."""


@dataclass(frozen=True)
class FrontProxy:
    """The front-proxy settings of one cluster (the API server's ``--requestheader-*`` flags)."""

    authorities: tuple[x509.Certificate, ...]
    allowed_names: tuple[str, ...]  # empty: any name the CA signed
    username_headers: tuple[str, ...]
    group_headers: tuple[str, ...]
    extra_prefixes: tuple[str, ...]

    @classmethod
    def from_config_map(cls, data: dict[str, str]) -> FrontProxy:
        """ValueError when the cluster publishes no front-proxy CA (its aggregation layer is off)."""
        bundle = data.get("requestheader-client-ca-file", "")
        if not bundle.strip():
            raise ValueError("the cluster publishes no requestheader-client-ca-file: start the API server with the "
                             "--requestheader-* and --proxy-client-* flags of the aggregation layer")

        def names(key: str) -> tuple[str, ...]:
            return tuple(json.loads(data.get(key) or "[]"))

        return cls(tuple(x509.load_pem_x509_certificates(bundle.encode())), names("requestheader-allowed-names"),
                   names("requestheader-username-headers"), names("requestheader-group-headers"),
                   names("requestheader-extra-headers-prefix"))


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...]
    extra: dict[str, list[str]]


def authenticate(proxy: FrontProxy, chain: list[x509.Certificate], headers: dict[str, list[str]]) -> Identity:
    """The caller the front proxy vouches for. ``chain``: the peer's certificate first, then what it sent
    along; ``headers``: lower-cased names. Raises Unauthenticated."""
    if not chain:
        raise Unauthenticated("no client certificate: only the API server's front proxy may call this API")
    _verify(proxy, chain)
    user = next((value for name in proxy.username_headers for value in headers.get(name.lower(), []) if value), "")
    if not user:
        raise Unauthenticated("the front proxy sent no user (" + ", ".join(proxy.username_headers) + ")")
    groups = tuple(value for name in proxy.group_headers for value in headers.get(name.lower(), []))
    extra: dict[str, list[str]] = {}
    for prefix in (prefix.lower() for prefix in proxy.extra_prefixes):
        for name, values in headers.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                extra.setdefault(unquote(name[len(prefix):]), []).extend(values)
    return Identity(user, groups, extra)


def _verify(proxy: FrontProxy, chain: list[x509.Certificate]) -> None:
    leaf = chain[0]
    store = crypto.X509Store()
    for authority in proxy.authorities:
        store.add_cert(crypto.X509.from_cryptography(authority))
    try:
        crypto.X509StoreContext(store, crypto.X509.from_cryptography(leaf),
                                [crypto.X509.from_cryptography(cert) for cert in chain[1:]]).verify_certificate()
    except crypto.X509StoreContextError as exc:
        raise Unauthenticated(f"the client certificate is not the front proxy's: {exc}") from None
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is not None and ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        raise Unauthenticated("the client certificate is not for client authentication")
    names = [attribute.value for attribute in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if proxy.allowed_names and not set(names) & set(proxy.allowed_names):
        raise Unauthenticated(f"the client certificate's name {', '.join(map(str, names)) or '(none)'} is not one of "
                              f"the allowed front-proxy names {', '.join(proxy.allowed_names)}")
