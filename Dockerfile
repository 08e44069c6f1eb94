# alertd's container image: `alertd run` as a non-root user, runtime dependencies only
# (no emulator), installed at the versions in constraints.txt.
#
#   docker build -t alertd .                       # on python:3.12-slim-bookworm
#   docker build --build-arg BASE=my/python:3.12 .  # any image with python3 and venv
#
# pip in the build stage reads PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS and
# PIP_CERT when passed as --build-arg; they stay out of the final image.
ARG BASE=python:3.12-slim-bookworm

FROM ${BASE} AS build
LABEL org.opencontainers.image.title=alertd
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_CERT
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/alertd
WORKDIR /src
COPY constraints.txt pyproject.toml README.md LICENSE ./
COPY alertd ./alertd
RUN /opt/alertd/bin/pip install --constraint constraints.txt . \
 && /opt/alertd/bin/python -m compileall -q /opt/alertd

FROM ${BASE}
LABEL org.opencontainers.image.title=alertd \
      org.opencontainers.image.licenses=Apache-2.0
RUN groupadd --system --gid 10001 alertd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/alertd \
        --shell /usr/sbin/nologin alertd \
 && install -d -o alertd -g alertd -m 0700 /var/lib/alertd
COPY --from=build /opt/alertd /opt/alertd
COPY rules/datasets.yaml rules/sources.yaml rules/api.yaml rules/database.yaml rules/workers.yaml rules/notify.yaml /etc/alertd/
ENV PATH=/opt/alertd/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ALERTD_RULES_DIR=/etc/alertd \
    ALERTD_STATE_DIR=/var/lib/alertd \
    ALERTD_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/alertd
VOLUME ["/var/lib/alertd"]
EXPOSE 9079
# /healthz on the daemon's HTTP address (ALERTD_HTTP_ADDR, 127.0.0.1:9079 by default).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/alertd/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://%s/healthz' % os.environ.get('ALERTD_HTTP_ADDR', '127.0.0.1:9079').replace('0.0.0.0', '127.0.0.1'), timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/alertd/bin/alertd", "run"]
