"""A webhook is open to anyone: whatever its signature header holds, a bad one is a 400."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "signature",
    ["t=1,v1=\xfc", "t=1,v1=ü" * 50, "t=ü,v1=x", "", "v1", "t=1,v1=" + "a" * 10_000],
)
def test_a_signature_that_is_not_ascii_or_not_well_formed_is_refused(client_b, signature):
    # when anyone posts to the webhook with a signature that is not ASCII hex
    response = client_b.post(
        "/fees/webhooks/test/", "{}", content_type="application/json",
        HTTP_X_TEST_SIGNATURE=signature,
    )  # fmt: skip
    # then it is refused as a bad signature, never a 500
    assert response.status_code == 400
