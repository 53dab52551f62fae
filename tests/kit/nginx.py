"""Debian's nginx in front of a running server, configured with the README's own ```nginx
block (tests/test_nginx_cache.py and bench/nginx_cache.py)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def readme_config() -> str:
    """The one ```nginx block of the README."""
    blocks = re.findall(r"```nginx\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) == 1, "the README should show exactly one nginx configuration"
    return blocks[0]


def configure(folder: Path, app_port: int, port: int, extra: str = "") -> Path:
    """The README's block with these addresses and folders, inside a main configuration of
    nginx's own (what /etc/nginx/nginx.conf provides on a real machine); ``extra``: more of
    the ``http`` context (a bench's static server)."""
    block = readme_config()
    for placeholder, value in (
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("/var/cache/nginx/facilities", str(folder / "cache")),
        ("/srv/facilities/static/", f"{ROOT}/static/"),
    ):
        assert placeholder in block, placeholder
        block = block.replace(placeholder, value)
    conf = folder / "nginx.conf"
    conf.write_text(
        # nginx started by root runs its workers as "nobody", who may not write here
        ("user root root;\n" if os.geteuid() == 0 else "")
        + f"""pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{block}
{extra}
}}
"""
    )
    return conf


@contextlib.contextmanager
def nginx(folder: Path, app_port: int, extra: str = "") -> Iterator[str]:
    """nginx on a free loopback port in front of ``app_port``; yields its base URL.

    Started as a daemon, as a real machine runs it: the command returns once the master has
    bound its port (or has said why it could not), so there is nothing to wait for."""
    port = free_port()
    conf = configure(folder, app_port, port, extra)
    command = [NGINX, "-p", str(folder), "-c", str(conf)]
    started = subprocess.run(command, capture_output=True)
    if started.returncode != 0:
        pytest.fail(f"nginx did not start: {started.stderr.decode()[-3000:]}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([*command, "-s", "stop"], capture_output=True, check=True)


def require_nginx() -> None:
    if not Path(NGINX).exists():
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail(f"{NGINX} is missing but REQUIRE_NGINX=1")
        pytest.skip("nginx is not installed")
