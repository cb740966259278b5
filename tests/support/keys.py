"""The secrets every test uses; the leak guard in tests/conftest.py fails any test that shows one of them."""

from __future__ import annotations

TEST_API_KEY = "dq_test_SECRET-KEY-4f9c2a7e51"
#: The tokens of the GitHub and GitLab fakes (tests/support/forges.py).
TEST_GITHUB_TOKEN = "ghs_TEST-github-token-7Qx9Zr2Lm4"
TEST_GITLAB_TOKEN = "glpat-TEST-gitlab-token-8Kd3Wp"
SECRETS = (TEST_API_KEY, TEST_GITHUB_TOKEN, TEST_GITLAB_TOKEN)
