"""GaussDB kernel plug-in packages through the official Huawei Python SDK against the machine's
real PostgreSQL (mode `local`): hostile packages fail and write nothing, digests, size caps and
redirects are enforced, the install check proves the server reads the job's own files, and the
seed's own example, PostGIS 3 from Debian's packages, installs and switches on.

Contract: docs/api-coverage.md (GaussDB), docs/contract.md (Plug-in package format, Jobs).
"""

import os
import subprocess
from pathlib import Path

import pytest
from huaweicloudsdkgaussdbforopengauss.v3 import model as gdb

import pkgserver as pkgs
from sdkhelpers import raw_json
from gaussdbhelpers import (  # noqa: F401 - client, extdb, instance, packages, pb: fixtures
    ELSEWHERE, HOSTILE, MAX_PACKAGE, PG_MAJOR, PKGLIBDIR, SHAREDIR, SUFFIX, client, extdb, install, instance,
    packages, pb, psql, publish, register, snapshot, wait_job,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# -- hostile packages ---------------------------------------------------------------------------------
def _files(**kw):
    return pkgs.extension_files(HOSTILE, **kw)


def _without_control():
    files = _files()
    del files[f"share/extension/{HOSTILE}.control"]
    return files


HOSTILE_CASES = {
    "path traversal": (_files(), pkgs.file_entry(f"share/extension/../../../../tmp/pbevil-{SUFFIX}"), ".."),
    "absolute path": (_files(), pkgs.file_entry(f"/tmp/pbevil-{SUFFIX}"), "absolute"),
    "symlink": (_files(), pkgs.symlink_entry(f"lib/{HOSTILE}.so", "/etc/passwd"), "link"),
    "hard link": (_files(), pkgs.hardlink_entry(f"lib/{HOSTILE}.so", f"share/extension/{HOSTILE}.control"), "link"),
    "device file": (_files(), pkgs.device_entry(f"lib/{HOSTILE}-null"), "device"),
    "outside share and lib": (_files(), pkgs.file_entry("etc/cron.d/pbevil"), "etc/cron.d/pbevil"),
    "gzip bomb": (_files(), pkgs.zeros_entry(f"share/extension/{HOSTILE}--bomb.sql", 400 * 1024 * 1024), "gzip bomb"),
    "missing control file": (_without_control(), None, f"share/extension/{HOSTILE}.control"),
    "wrong pg_major": (_files(pg_major=PG_MAJOR - 1), None, "pg_major"),
    "preload": (_files(preload=True), None, "preload"),
}


@pytest.mark.parametrize("case", list(HOSTILE_CASES))
def test_hostile_package_fails_and_writes_nothing(pb, client, packages, instance, case):
    files, extra, reason = HOSTILE_CASES[case]
    url, sha = publish(packages, HOSTILE, files=files, extra=extra)
    before = snapshot()
    done = wait_job(client, install(client, instance["id"], HOSTILE, url, sha))
    assert done["status"] == "Failed", done
    assert reason in done["fail_reason"], done["fail_reason"]
    assert snapshot() == before, "nothing new may appear in sharedir or pkglibdir"
    assert not Path(f"/tmp/pbevil-{SUFFIX}").exists()
    # raw_json: the SDK reads an empty list of plug-ins (nothing installed yet) as None
    assert HOSTILE not in raw_json(client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=instance["id"])))


def test_sha_mismatch_over_cap_and_forbidden_redirect(pb, client, packages, instance):
    url, sha = publish(packages, HOSTILE)
    before = snapshot()
    wrong = "0" * 64
    done = wait_job(client, install(client, instance["id"], HOSTILE, url, wrong))
    assert done["status"] == "Failed" and "sha_256 mismatch" in done["fail_reason"], done
    assert wrong in done["fail_reason"] and sha in done["fail_reason"]

    big = pkgs.random_file(packages.root / f"big-{SUFFIX}.tar.gz", MAX_PACKAGE + 1024)
    done = wait_job(client, install(client, instance["id"], HOSTILE, packages.url(big.name), pkgs.sha256_file(big)))
    assert done["status"] == "Failed" and str(MAX_PACKAGE) in done["fail_reason"], done

    for target in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.2:9/x.tar.gz"):
        redirect = f"{packages.base}/redirect?to={target}"
        done = wait_job(client, install(client, instance["id"], HOSTILE, redirect, sha))
        assert done["status"] == "Failed" and "redirect" in done["fail_reason"], done

    done = wait_job(client, install(client, instance["id"], HOSTILE, f"{packages.base}/status/404", sha))
    assert done["status"] == "Failed" and "404" in done["fail_reason"], done
    assert snapshot() == before


def test_check_fails_when_the_server_reads_another_sharedir(pb, client, packages, tmp_path):
    """The check must prove the server reads the job's own files: here the instance names a
    sharedir the server does not read, while the server lists the plug-in's name from someone
    else's control file in its real sharedir (issue 9.13)."""
    theirs = SHAREDIR / "extension" / f"{ELSEWHERE}.control"
    theirs.write_text(f"comment = 'someone else'\ndefault_version = '0.9'\nrelocatable = true\n")
    try:
        share, lib = tmp_path / "share", tmp_path / "lib"
        (share / "extension").mkdir(parents=True)
        lib.mkdir()
        resp = register(pb, install={"mode": "local", "sharedir": str(share), "pkglibdir": str(lib)})
        assert resp.status == 201, resp.body
        elsewhere = resp.json()
        assert ELSEWHERE in psql("postgres", f"SELECT name FROM pg_available_extensions WHERE name = '{ELSEWHERE}'")
        url, sha = publish(packages, ELSEWHERE)
        done = wait_job(client, install(client, elsewhere["id"], ELSEWHERE, url, sha))
        assert done["status"] == "Failed", done
        assert "does not read extension files from" in done["fail_reason"], done
        assert str(share) in done["fail_reason"], done
        assert (share / "extension" / f"{ELSEWHERE}.control").exists(), "the job did install its files"
        left = [p.name for p in (share / "extension").iterdir() if p.name.startswith("plugboard_check_")]
        assert left == [], f"the check's marker is removed: {left}"
        installed = raw_json(client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=elsewhere["id"])))
        assert installed == [], "a failed check records no install"
    finally:
        theirs.unlink(missing_ok=True)


# -- the seed's own example: PostGIS 3 from Debian's packages ------------------------------------------
def postgis_package():
    """The package built by scripts/postgis-package.sh (scripts/test.sh builds it first and passes
    its path; run alone, the test builds it)."""
    path = os.environ.get("PLUGBOARD_TEST_POSTGIS_PACKAGE")
    if not path:
        script = Path(__file__).resolve().parents[2] / "scripts" / "postgis-package.sh"
        res = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        path = res.stdout.strip()
    assert Path(path).is_file(), path
    return Path(path)


def test_postgis_from_debian_packages(pb, client, packages, instance, extdb):
    import tarfile
    pkg = postgis_package()
    served = packages.root / f"postgis-{SUFFIX}.tar.gz"
    served.symlink_to(pkg)
    with tarfile.open(pkg) as tar:
        members = [m.name for m in tar.getmembers() if m.isfile()]
    targets = [SHAREDIR / m[len("share/"):] for m in members if m.startswith("share/")] + \
              [PKGLIBDIR / m[len("lib/"):] for m in members if m.startswith("lib/")]
    preexisting = {t for t in targets if t.exists()}
    try:
        job_id = install(client, instance["id"], "postgis", packages.url(served.name), pkgs.sha256_file(pkg))
        done = wait_job(client, job_id, timeout=300)
        assert done["status"] == "Completed", done
        assert "postgis" in client.list_kernel_plugins(gdb.ListKernelPluginsRequest(instance_id=instance["id"])).body
        info = raw_json(client.list_plugin_info_list(gdb.ListPluginInfoListRequest(
            instance_id=instance["id"], plugin_name="postgis")))
        assert info["plugins"][0]["installed"] is True and info["plugins"][0]["plugin_version"].startswith("3."), info

        on = client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
            instance_id=instance["id"], body=gdb.ResumePluginExtensionsRequestBody(
                plugin_name="postgis", db_list=[extdb], extension_name="postgis", extension_action="on")))
        assert raw_json(on) == "SUCCESS"
        version = psql(extdb, "SELECT postgis_full_version()")
        assert version.startswith('POSTGIS="3.') and f'PGSQL="{PG_MAJOR}0"' in version, version
        assert psql(extdb, "SELECT ST_AsText(ST_Buffer(ST_GeomFromText('POINT(0 0)'), 1, 1))").startswith("POLYGON")
        listed = raw_json(client.list_plugin_extensions(gdb.ListPluginExtensionsRequest(
            instance_id=instance["id"], db_name=extdb, plugin_name="postgis")))
        assert {"extension_name": "postgis", "status": "on"} in listed
        assert {"extension_name": "postgis_topology", "status": "off"} in listed
        off = client.resume_plugin_extensions(gdb.ResumePluginExtensionsRequest(
            instance_id=instance["id"], body=gdb.ResumePluginExtensionsRequestBody(
                plugin_name="postgis", db_list=[extdb], extension_name="postgis", extension_action="off")))
        assert raw_json(off) == "SUCCESS"
        assert psql(extdb, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'") == "0"
    finally:
        for t in targets:  # leave the machine's PostgreSQL as it was
            if t not in preexisting and t.exists():
                t.unlink()
