"""A private Prometheus (Debian's `prometheus`, installed when missing) scraping one target every second and
evaluating the deployment's alert rules (deploy/prometheus/alerts.yml) every second."""

from __future__ import annotations

import json
from pathlib import Path

from domotic_assets_tests.servers.base import PrivateServer, binary

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"


class PrometheusServer(PrivateServer):
    kind = "Prometheus"

    def __init__(self, folder: Path, target: str, token: str | None = None):
        super().__init__(folder)
        self.target = target
        self.token = token

    def prepare(self) -> None:
        self._prometheus = binary("prometheus", "prometheus")
        job: dict = {"job_name": "domotic", "static_configs": [{"targets": [self.target]}]}
        if self.token:
            credentials = self.folder / "metrics-password"
            credentials.write_text(self.token)
            credentials.chmod(0o600)
            job["authorization"] = {"credentials_file": str(credentials)}
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [job],
        }
        (self.folder / "prometheus.yml").write_text(json.dumps(config))  # YAML reads JSON

    def command(self) -> list[str]:
        return [
            self._prometheus,
            f"--config.file={self.folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"
