"""The stand-in's SRP server math against an SRP client nobody here wrote (pycognito's)."""

from __future__ import annotations

import pytest
from pycognito.aws_srp import AWSSRP

from cogapi.local import srp

POOL = "us-east-1_AbCdEf"


def _client(password: str) -> AWSSRP:
    # client=object(): pycognito would otherwise build a boto3 client; no call is made here
    return AWSSRP(username="bob", password=password, pool_id=POOL, client_id="cid", client=object())


def _params(challenge: srp.Challenge) -> dict[str, str]:
    return {
        "USER_ID_FOR_SRP": challenge.user_id,
        "SALT": srp.pad_hex(challenge.salt),
        "SRP_B": f"{challenge.big_b:x}",
        "SECRET_BLOCK": challenge.secret_block_b64,
        "USERNAME": "bob",
    }


def test_group_and_multiplier_are_cognitos() -> None:
    client = _client("x")
    assert (client.big_n, client.val_g, client.val_k) == (srp.N, srp.G, srp.K)


@pytest.mark.parametrize(("password", "ok"), [("Right-Pass-1", True), ("Wrong-Pass-1", False)])
def test_signature_proves_the_password(password: str, ok: bool) -> None:
    client = _client(password)
    challenge = srp.start(
        POOL, "2f0e-user-id", "Right-Pass-1", srp.new_salt(), f"{client.large_a_value:x}"
    )
    answer = client.process_challenge(_params(challenge), {"USERNAME": "bob"})
    assert srp.verify(challenge, answer["TIMESTAMP"], answer["PASSWORD_CLAIM_SIGNATURE"]) is ok
    # the signature covers the timestamp: the same proof with another one fails
    assert not srp.verify(challenge, answer["TIMESTAMP"] + " ", answer["PASSWORD_CLAIM_SIGNATURE"])


def test_salt_needs_no_padding_and_a_zero_a_is_refused() -> None:
    for _ in range(50):
        text = srp.pad_hex(srp.new_salt())
        assert len(text) == 32 and text[0] in "1234567"
    with pytest.raises(srp.BadSrpA):
        srp.start(POOL, "id", "pw", srp.new_salt(), f"{srp.N * 2:x}")
    with pytest.raises(srp.BadSrpA):
        srp.start(POOL, "id", "pw", srp.new_salt(), "not-hex")
