"""The JS/TypeScript SDK (sdk/js) inside `make test`: its own tests (node --test) against a live server
on a free loopback port with a fresh database, the drift check of the generated types, npm pack + install.

npm is required: without it these tests fail (CI installs Node.js 20+ and npm in .ci/run), never skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from accounts.models import Role, Tenant
from tests.sdk.conftest import ROOT, key

JS = ROOT / "sdk/js"
NPM = shutil.which("npm")
FREE_TIER_LIMIT = 5


def run(cmd: list[str], *, cwd: Path = JS, env: dict[str, str] | None = None, timeout: float = 300):
    result = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
    )
    return result


@pytest.fixture(scope="module")
def js_sdk() -> Path:
    """node_modules from the committed lock file (`npm ci` when stale, via make js-install), then built."""
    if NPM is None:
        pytest.fail("npm is not installed: the JS SDK needs Node.js 20+ and npm (.ci/run installs them)")
    version = run(["node", "-v"]).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node.js 20+ needed, found {version}"
    run(["make", "-s", "js-install"], cwd=ROOT)
    run([NPM, "run", "-s", "build"])
    return JS


@pytest.fixture
def js_env(live_server, tenant_a, tenant_b, settings):
    """The live server's URL, a key per role, a JWT and a free-tier tenant with a tiny limit."""
    from tests.jwks import AUDIENCE, ISSUER, TestIdP

    settings.GITHUB_TOKEN = ""
    settings.GITHUB_REPO = ""
    settings.RATELIMIT_TIER_OVERRIDES = {"free": FREE_TIER_LIMIT}
    free = Tenant.objects.create(slug="tenant-free", name="Free", tier="free")
    provider = TestIdP()
    with provider.server:
        settings.OIDC_OP_JWKS_ENDPOINT = provider.jwks_url
        settings.OIDC_ISSUER = ISSUER
        settings.OIDC_AUDIENCE = AUDIENCE
        settings.OIDC_RP_CLIENT_ID = AUDIENCE
        keys = {
            "viewer": key(tenant_a, Role.VIEWER),
            "developer": key(tenant_a, Role.DEVELOPER),
            "operator": key(tenant_a, Role.OPERATOR),
            "admin": key(tenant_a, Role.ADMIN),
            "other_tenant": key(tenant_b, Role.OPERATOR),
            "free_tier": key(free, Role.VIEWER),
            "free_tier_limit": FREE_TIER_LIMIT,
        }
        yield {
            "AOS_TEST_BASE_URL": live_server.url,
            "AOS_TEST_KEYS": json.dumps(keys),
            "AOS_TEST_TOKEN": provider.token(sub="u-js", tenant_id="tenant-a", roles=["developer"]),
        }


def _tap_summary(output: str) -> dict[str, int]:
    """The counts at the end of node --test's output (TAP `# pass 3`, or the spec reporter's `ℹ pass 3`)."""
    pattern = r"^(?:#|\u2139) (tests|pass|fail|cancelled|skipped|todo) (\d+)$"
    return {name: int(n) for name, n in re.findall(pattern, output, re.M)}


def test_it_passes_the_js_sdk_tests_against_a_live_server(js_sdk, js_env):
    """Hashing vectors, traces, and every client method, error class, retry and page against the live server;
    sdk/js/test/groups.test.js makes its mismatch groups by real diverged replays (helpers.divergedGroup)."""
    # `make js-test` as the README shows it (tsc, then node --test), with the live server's address and keys.
    result = subprocess.run(
        ["make", "-s", "js-test"],
        cwd=ROOT,
        env={**os.environ, **js_env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    summary = _tap_summary(result.stdout)
    print("node --test:", summary)  # shown with -s / -rA: the JS run inside make test
    failures = "\n".join(b for b in re.split(r"(?m)^(?=\s*# Subtest)", result.stdout) if "not ok" in b)
    assert result.returncode == 0, (failures or result.stdout)[-12000:] + result.stderr[-3000:]
    assert summary["fail"] == 0 and summary["cancelled"] == 0, summary
    assert summary["skipped"] == 0 and "# SKIP" not in result.stdout, "a JS test was skipped: " + result.stdout[-3000:]
    assert summary["pass"] >= 53, summary  # the live suites ran (mismatch groups too), not only the unit tests


def test_it_keeps_the_committed_types_equal_to_what_the_server_serves(js_sdk, live_server, tmp_path):
    """The drift check: `make js-types` from the live /api/schema/ must reproduce sdk/js/src/schema.ts."""
    out = tmp_path / "schema.ts"
    run(["make", "-s", "js-types", f"AOS_SCHEMA_URL={live_server.url}/api/schema/", f"AOS_TYPES_OUT={out}"], cwd=ROOT)
    committed = (js_sdk / "src/schema.ts").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, (
        "sdk/js/src/schema.ts drifted from the served schema: "
        "run `make js-types` with `make run` serving, and commit it"
    )


def test_it_packs_a_tarball_that_installs_and_runs_the_readme_example(js_sdk, tmp_path):
    """`npm pack`, `npm install ./aos-sdk-<v>.tgz` into a new project, the two-line example, and a strict tsc."""
    version = json.loads((js_sdk / "package.json").read_text())["version"]
    assert f'VERSION = "{version}"' in (js_sdk / "src/version.ts").read_text()  # the User-Agent's version
    # dist/ is fresh from the fixture: --ignore-scripts skips prepack's second build.
    run([NPM, "pack", "--silent", "--ignore-scripts", "--pack-destination", str(tmp_path)])
    tarball = tmp_path / f"aos-sdk-{version}.tgz"
    assert tarball.is_file(), list(tmp_path.iterdir())
    listing = run(["tar", "tzf", str(tarball)]).stdout.split()
    assert (
        "package/dist/index.d.ts" in listing
        and "package/dist/schema.d.ts" in listing
        and "package/README.md" in listing
    )
    assert not [n for n in listing if n.startswith(("package/src/", "package/test/", "package/node_modules/"))]

    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps({"name": "app", "private": True, "type": "module"}))
    run([NPM, "install", "--no-audit", "--no-fund", "--prefer-offline", str(tarball)], cwd=app)
    example = _readme_example()
    (app / "example.mjs").write_text(example)
    printed = run(["node", "example.mjs"], cwd=app).stdout.strip()
    assert printed == "7da851c1e3bcfd2caf64f55bc462c92a423b22e539bfce1a43e7f59f5b5974f6", printed

    # The shipped declarations type-check in a strict consumer (no skipLibCheck; @types/node as any Node project).
    (app / "check.ts").write_text(
        "import { AOSClient, RESOLUTION_KINDS, type RunDetail, type MismatchGroupDetail, type ResolutionKind,"
        ' type components } from "aos-sdk";\n'
        'const aos = new AOSClient({ baseUrl: "http://127.0.0.1:1", apiKey: "aos_x", timeoutMs: 1, maxRetries: 0 });\n'
        "const run: Promise<RunDetail> = aos.run([], { seed: 1 });\n"
        'const status: components["schemas"]["StepStatusEnum"] = "succeeded";\n'
        "void run.catch(() => status);\n"
        "const kind: ResolutionKind = RESOLUTION_KINDS[1];\n"
        'const group: Promise<MismatchGroupDetail> = aos.resolveMismatchGroup(1, { kind, note: "n" });\n'
        "void group.catch(() => kind);\n"
        "// @ts-expect-error: not a resolution kind\n"
        'void aos.resolveMismatchGroup(1, { kind: "wontfix", note: "n" }).catch(() => null);\n'
    )
    (app / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "noEmit": True,
                    "module": "NodeNext",
                    "moduleResolution": "NodeNext",
                    "target": "ES2022",
                    "types": ["node"],
                    "typeRoots": [str(js_sdk / "node_modules/@types")],
                    "skipLibCheck": False,
                },
                "files": ["check.ts"],
            }
        )
    )
    run([str(js_sdk / "node_modules/.bin/tsc"), "-p", "tsconfig.json"], cwd=app)


def _readme_example() -> str:
    """The two-line example of sdk/js/README.md (the block after `<!-- example -->`), as written."""
    text = (JS / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- example -->\s*```js\n(.*?)```", text, re.S)
    assert match, "sdk/js/README.md lost its example block"
    return match.group(1)


def test_it_shows_in_the_readme_only_js_commands_these_tests_run():
    """Every command of the README's JS SDK block is run above (js-install and js-test by the fixture and
    the live test, js-types by the drift check)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### JavaScript / TypeScript SDK") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = [line.split("  #")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make js-install", "make js-test", "make js-types"]
    source = Path(__file__).read_text(encoding="utf-8")
    for target in ("js-install", "js-test", "js-types"):
        assert f'"make", "-s", "{target}"' in source
