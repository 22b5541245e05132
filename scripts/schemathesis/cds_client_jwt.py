"""A CDS Hooks 2.0 client's JWT, signed with PyJWT: the claims pathwayd checks (iss, aud, iat,
exp two minutes ahead, a fresh jti), ES384 or RS384 by the key's type, the key named by kid.

Also a schemathesis hook (SCHEMATHESIS_HOOKS=cds_client_jwt, this directory on PYTHONPATH): every
call gets a fresh token, since pathwayd accepts a token once. Its environment: CDS_CLIENT_KEY (PEM
private key), CDS_CLIENT_ISSUER, CDS_BASE_URL (cdsHooks.baseURL), CDS_CLIENT_KID (default k1).
Used by Tests/PathwayDaemonTests/GatewayTests.swift and scripts/cds-client-token.
"""
import os
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def token(key_pem, issuer, audience, kid="k1", lifetime=120):
    key = serialization.load_pem_private_key(key_pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}[key.curve.name]
    else:
        algorithm = "RS384"
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid, "typ": "JWT"})


try:
    import schemathesis
except ImportError:  # scripts/cds-client-token does not need it
    schemathesis = None

if schemathesis is not None and "CDS_CLIENT_KEY" in os.environ:
    _KEY = open(os.environ["CDS_CLIENT_KEY"], "rb").read()

    @schemathesis.hook
    def before_call(context, case, kwargs):
        signed = token(_KEY, os.environ["CDS_CLIENT_ISSUER"], os.environ["CDS_BASE_URL"] + "/cds-services",
                       kid=os.environ.get("CDS_CLIENT_KID", "k1"))
        if case.headers is None:
            case.headers = {}
        case.headers["Authorization"] = "Bearer " + signed
