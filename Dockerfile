# The DocketQA gate: the image published to ghcr.io for the action's release tags (action.yml there says
# `image: docker://ghcr.io/...`), `docker://` steps and GitLab jobs, and the image the runner builds from
# source for main and pinned commits (`image: Dockerfile`). Slim base, hash-pinned wheels only, no build
# tools, no package-manager caches, and bytecode compiled once here rather than at every start.
FROM python:3.13.7-slim-trixie

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Exact pins with the sha256 of every file the index serves for them: pip refuses anything else
# (--no-deps: requirements/runtime.txt lists the whole closure), plus a `docketqa-gate` command for shells
# that run in the image (GitLab jobs override the entrypoint).
COPY requirements/runtime.txt /opt/docketqa-gate/requirements.txt
RUN pip install --no-cache-dir --no-deps --require-hashes -r /opt/docketqa-gate/requirements.txt \
    && printf '#!/bin/sh\nexec python /opt/docketqa-gate/entrypoint.py "$@"\n' > /usr/local/bin/docketqa-gate \
    && chmod 0755 /usr/local/bin/docketqa-gate

# An absolute location, no USER and no WORKDIR: the runner runs the container as root with
# /github/workspace as the working directory. entrypoint.py puts its own directory on sys.path.
COPY entrypoint.py /opt/docketqa-gate/
COPY gate/ /opt/docketqa-gate/gate/

# The official image ships the standard library without .pyc and PYTHONDONTWRITEBYTECODE keeps it so, so
# every start would compile what it imports (0.2-0.5 s; benchmark 8 in docs/performance.md). Compile the
# gate and every module a full `demo` run imports, once (unchecked-hash: the image's sources never change).
COPY docker/compile_bytecode.py /opt/docketqa-gate/build/
RUN python /opt/docketqa-gate/build/compile_bytecode.py /opt/docketqa-gate

ENTRYPOINT ["python", "/opt/docketqa-gate/entrypoint.py"]
