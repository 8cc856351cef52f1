"""The files under deploy/ are valid and only use flags the CLI has: the YAML parses into the
expected objects, systemd accepts the units (`systemd-analyze verify`, where present), and every
`specula SUBCOMMAND --flag` they run exists in that subcommand's --help."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, specula_binary

DEPLOY = Path(ROOT) / "deploy"


def yaml_documents(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def test_kubernetes_manifests_parse_into_the_expected_objects():
    kinds = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml_documents(path):
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), f"{path.name}: {doc.keys()}"
            kinds.setdefault(doc["kind"], []).append(doc["metadata"]["name"])
    assert kinds == {"ConfigMap": ["specula"], "Secret": ["specula-auth"],
                     "Deployment": ["specula-coordinator", "specula-worker"], "Service": ["specula-coordinator"]}
    coordinator = next(d for d in yaml_documents(DEPLOY / "kubernetes" / "coordinator.yaml") if d["kind"] == "Deployment")
    container = coordinator["spec"]["template"]["spec"]["containers"][0]
    assert "readinessProbe" in container and "livenessProbe" in container
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]


def test_compose_runs_a_coordinator_and_three_workers():
    compose = yaml_documents(DEPLOY / "docker" / "compose.yaml")[0]
    services = compose["services"]
    assert "coordinator" in services and "healthcheck" in services["coordinator"]
    workers = [name for name, s in services.items() if s.get("command", [None])[0] == "draft"]
    assert len(workers) == 3, workers


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_accepts_the_units(tmp_path):
    for unit, name in (("specula-coordinator.service", "specula-coordinator.service"), ("specula-worker@.service", "specula-worker@a.service")):
        text = (DEPLOY / "systemd" / unit).read_text().replace("/usr/local/bin/specula", specula_binary())
        (tmp_path / name).write_text(text)
        result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / name)], capture_output=True, text=True)
        assert result.returncode == 0, f"{unit}: {result.stderr}"


def specula_invocations():
    """(subcommand words, flags) of every specula command line in deploy/."""
    found = []
    for path in DEPLOY.rglob("*"):
        if path.suffix in (".service", ".yaml"):
            text = path.read_text()
            for line in re.findall(r"specula ((?:coordinator|draft|models fetch)[^\n]*)", text):
                found.append((path.name, line))
            if path.suffix == ".yaml":
                for doc in yaml_documents(path):
                    for command in list_commands(doc):
                        found.append((path.name, " ".join(command)))
    assert found, "no specula command lines found"
    return found


def list_commands(node):
    """`command`/`args` lists in a YAML tree that start with a specula subcommand."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("command", "args") and isinstance(value, list) and value and value[0] in ("coordinator", "draft", "models"):
                yield [str(v) for v in value]
            else:
                yield from list_commands(value)
    elif isinstance(node, list):
        for item in node:
            yield from list_commands(item)


def test_every_flag_used_in_deploy_exists_in_the_cli():
    helps = {}
    for source, line in specula_invocations():
        words = line.split()
        sub = words[:2] if words[0] == "models" else words[:1]
        key = " ".join(sub)
        if key not in helps:
            helps[key] = subprocess.run([specula_binary(), *sub, "--help"], capture_output=True, text=True, check=True).stdout
        for flag in (w for w in words if w.startswith("--")):
            assert re.search(rf"(^|\s){re.escape(flag)}(\s|$|,|<)", helps[key], re.M), f"{source}: specula {key} has no {flag}"


def test_no_deploy_file_puts_the_secret_on_a_command_line():
    """A secret in ExecStart or a container's args is readable by any local user in `ps`: the deploy
    files hand it over in the environment (or a file), and the units and pods do set it there."""
    for source, line in specula_invocations():
        assert "--auth-secret " not in line + " " and "SECRET" not in line, f"{source}: {line}"
    for path in (DEPLOY / "kubernetes").glob("*.yaml"):
        for doc in yaml_documents(path):
            if doc["kind"] == "Deployment":
                env = [e["name"] for c in doc["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])]
                assert "SPECULA_AUTH_SECRET" in env, f"{path.name}: no SPECULA_AUTH_SECRET in {env}"
    compose = yaml_documents(DEPLOY / "docker" / "compose.yaml")[0]
    for name in ("coordinator", "worker-a"):
        assert "SPECULA_AUTH_SECRET" in compose["services"][name]["environment"], name
    assert "SPECULA_AUTH_SECRET=" in (DEPLOY / "systemd" / "specula.env.example").read_text()
