# The DocketQA gate: the GitHub container action (`runs.image: Dockerfile`) and the image published to
# ghcr.io for `docker://` steps and GitLab jobs. The runner builds it at the start of every job, so it stays
# small: slim base, pinned wheels only, no build tools, no package-manager caches.
FROM python:3.13.7-slim-trixie

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Exact pins (--no-deps: requirements/runtime.txt lists the whole closure), plus a `docketqa-gate` command
# for shells that run in the image (GitLab jobs override the entrypoint).
COPY requirements/runtime.txt /opt/docketqa-gate/requirements.txt
RUN pip install --no-cache-dir --no-deps -r /opt/docketqa-gate/requirements.txt \
    && printf '#!/bin/sh\nexec python /opt/docketqa-gate/entrypoint.py "$@"\n' > /usr/local/bin/docketqa-gate \
    && chmod 0755 /usr/local/bin/docketqa-gate

# An absolute location, no USER and no WORKDIR: the runner runs the container as root with
# /github/workspace as the working directory. entrypoint.py puts its own directory on sys.path.
COPY entrypoint.py /opt/docketqa-gate/
COPY gate/ /opt/docketqa-gate/gate/

ENTRYPOINT ["python", "/opt/docketqa-gate/entrypoint.py"]
