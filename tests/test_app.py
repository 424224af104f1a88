"""The what-if page's logic without a browser: controls to overrides through the loader's
validation, the reaction mix, errors as text per control, the results-folder confinement,
uploads, cancellation of running jobs, and the ``servicesim app`` command's start-up."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import servicesim
from servicesim.app.controls import (
    GENERAL,
    REACTIONS,
    Loaded,
    apply_controls,
    reaction_shares,
    scenario_overrides,
)
from servicesim.app.folder import UPLOADS, confined, load_confined, load_upload, upload_name
from servicesim.app.jobs import (
    CANCELLED,
    DONE,
    Cancelled,
    Job,
    Runner,
    TrackedExecutor,
    sweep_targets,
    what_if_work,
)
from servicesim.app.tables import figure_rows, theory_texts
from servicesim.errors import ScenarioError
from servicesim.scenario.serialise import MAX_FILE_BYTES, dump_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SOURCES = Path(servicesim.__file__).resolve().parents[1]
_BASELINE_LOADED = Loaded.of(servicesim.load_scenario(BASELINE), str(BASELINE))


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return _BASELINE_LOADED


@pytest.fixture(scope="module")
def short() -> Loaded:
    """The baseline on a short horizon: quick what-ifs."""
    scenario = servicesim.load_scenario(BASELINE, ["run.horizon_days=60",
                                                   "run.warmup_days=10"])
    return Loaded.of(scenario, "short baseline")


# ------------------------------------------------------------------------ controls


def test_start_controls_are_the_scenarios_values(loaded: Loaded) -> None:
    scenario, start = loaded.scenario, loaded.start
    assert start.target == scenario.policy.service_target
    assert start.metric == scenario.policy.service_metric
    assert start.lead_time_mean == scenario.supplier.lead_time_days.mean
    assert start.lead_time_std == pytest.approx(scenario.supplier.lead_time_days.std)
    assert start.expedite is scenario.outbound.expedite.enabled
    assert [s.name for s in start.segments] == list(scenario.segments)
    assert start.horizon_days == 365 and start.replications == 4  # the quick default


def test_untouched_controls_change_nothing(loaded: Loaded) -> None:
    edit = apply_controls(loaded, loaded.start)
    assert edit.ok and edit.overrides == ()
    assert edit.edited is not None and dump_scenario(edit.edited) == \
        dump_scenario(loaded.scenario)
    assert edit.today_run is not None and edit.today_run.run.horizon_days == 365


def test_each_control_becomes_its_override(loaded: Loaded) -> None:
    now = dataclasses.replace(loaded.start, target=0.9, metric="cycle_service_level",
                              lead_time_mean=12.0, lead_time_std=4.0, expedite=False)
    edit = apply_controls(loaded, now)
    assert edit.ok, edit.errors
    edited = edit.edited
    assert edited is not None
    assert edited.policy.service_target == 0.9
    assert edited.policy.service_metric == "cycle_service_level"
    lead = edited.supplier.lead_time_days
    assert (lead.type, lead.mean, lead.std) == ("gamma", 12.0, pytest.approx(4.0))
    assert edited.outbound.expedite.enabled is False
    assert {c for c, _ in edit.overrides} == {"target", "metric", "lead_time", "expedite"}
    # the edited scenario keeps its own run block; both sides run on the page's horizon
    assert edited.run == loaded.scenario.run
    assert edit.edited_run is not None and edit.edited_run.run.horizon_days == 365


def test_a_lead_time_without_spread_is_a_constant(loaded: Loaded) -> None:
    edit = apply_controls(loaded, dataclasses.replace(loaded.start, lead_time_mean=5.0,
                                                      lead_time_std=0.0))
    assert edit.edited is not None
    assert edit.edited.supplier.lead_time_days.type == "constant"
    assert edit.edited.supplier.lead_time_days.mean == 5.0


def test_order_quantity_rules(loaded: Loaded) -> None:
    given_q = {name: sku.policy.order_quantity for name, sku in loaded.scenario.skus.items()}
    doubled = apply_controls(loaded, dataclasses.replace(
        loaded.start, quantity_rule="multiplier", quantity_factor=2.0))
    assert doubled.edited is not None
    assert {n: s.policy.order_quantity for n, s in doubled.edited.skus.items()} == \
        {n: 2 * q for n, q in given_q.items()}
    eoq = apply_controls(loaded, dataclasses.replace(loaded.start, quantity_rule="eoq"))
    assert eoq.edited is not None
    assert all(s.policy.order_quantity is None for s in eoq.edited.skus.values())
    derived = servicesim.derive_policies(eoq.edited)
    assert all(derived[n].source["order_quantity"] == "eoq" for n in given_q)


# ------------------------------------------------------------------------ the mix


def test_reaction_weights_are_renormalised() -> None:
    shares = reaction_shares({"wait": 1, "backorder": 1, "switch": 2, "defect": 0})
    assert shares == {"wait": 0.25, "backorder": 0.25, "switch": 0.5, "defect": 0.0}
    with pytest.raises(ValueError, match="at least one reaction needs a weight"):
        reaction_shares(dict.fromkeys(REACTIONS, 0))
    with pytest.raises(ValueError, match="≥ 0"):
        reaction_shares({"wait": -1, "switch": 2})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=4, max_size=4)
       .filter(lambda w: sum(w) > 1e-6))
def test_any_weights_give_a_mix_the_loader_accepts(weights: list[float]) -> None:
    loaded = _BASELINE_LOADED
    shares = reaction_shares(dict(zip(REACTIONS, weights, strict=True)))
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)
    assert all(v >= 0 for v in shares.values())
    now = loaded.start.with_segment(1, weights=dict(zip(REACTIONS, weights, strict=True)))
    edit = apply_controls(loaded, now)
    assert "mix_1" not in edit.errors and edit.edited is not None
    mix = edit.edited.segments["retail"].reactions
    for reaction in REACTIONS:
        assert getattr(mix, reaction) == pytest.approx(shares[reaction], abs=1e-9)


def test_a_mix_without_weight_is_shown_at_its_control(loaded: Loaded) -> None:
    now = loaded.start.with_segment(0, weights=dict.fromkeys(REACTIONS, 0.0))
    edit = apply_controls(loaded, now)
    assert not edit.ok
    assert "at least one reaction" in edit.errors["mix_0"][0]
    assert "segments.key_accounts.reactions" in edit.errors["mix_0"][0]


# ------------------------------------------------------------------------ errors


def test_errors_are_the_loaders_words_next_to_their_control(loaded: Loaded) -> None:
    now = dataclasses.replace(loaded.start, target=1.5, lead_time_std=-1.0,
                              horizon_days=30.0, replications=1)
    edit = apply_controls(loaded, now)
    assert not edit.ok
    target = edit.errors["target"][0]
    assert "policy.service_target" in target and "1.5" in target and "< 1" in target
    assert "supplier.lead_time_days" in edit.errors["lead_time"][0]
    assert "warmup_days (90) must be less than horizon_days (30)" in \
        edit.errors["horizon_days"][0]
    assert "from 2" in edit.errors["replications"][0]
    text = " ".join(m for messages in edit.errors.values() for m in messages)
    assert "Traceback" not in text and "Error(" not in text


def test_the_size_guard_refuses_a_hopeless_run(loaded: Loaded) -> None:
    now = dataclasses.replace(loaded.start, horizon_days=5e7, replications=100)
    edit = apply_controls(loaded, now)
    assert not edit.ok
    assert "too large" in edit.errors["horizon_days"][0]


def test_every_problem_has_a_control(loaded: Loaded) -> None:
    edit = apply_controls(loaded, dataclasses.replace(loaded.start, metric="speed"))
    assert set(edit.errors) == {"metric"}
    assert GENERAL not in edit.errors


# ------------------------------------------------------------------ the folder


def test_a_path_outside_the_results_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    outside = tmp_path / "outside.yaml"
    outside.write_text(BASELINE.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "link.yaml").symlink_to(outside)
    for typed in ("../outside.yaml", str(outside), "link.yaml", "sub/../../outside.yaml",
                  "/etc/passwd", ""):
        with pytest.raises(ScenarioError) as caught:
            load_confined(folder, typed)
        assert "results folder" in str(caught.value), typed
    inside = folder / "mine.yaml"
    inside.write_text(BASELINE.read_text(encoding="utf-8"), encoding="utf-8")
    assert confined(folder, "mine.yaml") == inside.resolve()
    assert load_confined(folder, "mine.yaml").name == "baseline"


def test_a_scenario_that_reads_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "items.yaml").write_text("name: x\nitems: {master: /etc/passwd}\n",
                                         encoding="utf-8")
    with pytest.raises(ScenarioError, match="self-contained"):
        load_confined(tmp_path, "items.yaml")


def test_uploads_are_bounded_checked_and_kept_inside_the_folder(tmp_path: Path) -> None:
    assert upload_name("../../etc/passwd") == "passwd.yaml"
    assert upload_name("my scenario.yml") == "my_scenario.yml"
    with pytest.raises(ScenarioError, match="too large"):
        load_upload(tmp_path, "big.yaml", b"#" * (MAX_FILE_BYTES + 1))
    assert not (tmp_path / UPLOADS).exists()  # refused before anything was written
    with pytest.raises(ScenarioError) as caught:
        load_upload(tmp_path, "broken.yaml", b"name: x\npolicy: {service_target: 2}\n")
    problem = caught.value.problems[0]
    assert problem.file == "upload broken.yaml" and problem.key_path == \
        "policy.service_target"
    with pytest.raises(ScenarioError, match="only plain YAML"):
        load_upload(tmp_path, "evil.yaml", b"!!python/object/apply:os.system ['true']\n")
    scenario, path = load_upload(tmp_path, "base.yaml", BASELINE.read_bytes())
    assert scenario.name == "baseline" and path.parent == (tmp_path / UPLOADS).resolve()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == \
        ["base.yaml", "broken.yaml", "evil.yaml"]


# ---------------------------------------------------------------- jobs, cancelling


def test_a_cancelled_job_cancels_what_has_not_started() -> None:
    job = Job("test")
    release = threading.Event()
    with ThreadPoolExecutor(1) as inner:
        executor = TrackedExecutor(inner, job)
        futures = [executor.submit(release.wait, 5) for _ in range(4)]
        job.cancel()
        release.set()
        with pytest.raises(Cancelled):
            executor.submit(release.wait, 5)
    assert sum(f.cancelled() for f in futures) >= 3  # only the first had started
    assert job.total == 4 and job.done <= 1


def test_a_new_job_cancels_the_running_one() -> None:
    def slow(job: Job, executor: object) -> str:
        for _ in range(500):
            job.check()
            time.sleep(0.01)
        return "finished"

    with ThreadPoolExecutor(1) as inner:
        runner = Runner(inner)
        first = runner.start("slow", slow)
        second = runner.start("quick", lambda job, executor: "quick")
        assert first.wait(5) and second.wait(5)
    assert (first.state, first.result) == (CANCELLED, None)
    assert (second.state, second.result) == (DONE, "quick")


def test_a_what_if_is_cancelled_between_replications(short: Loaded) -> None:
    edit = apply_controls(short, dataclasses.replace(short.start, target=0.9,
                                                     replications=6))
    assert edit.today_run is not None and edit.edited_run is not None
    with ThreadPoolExecutor(1) as inner:
        runner = Runner(inner)
        job = runner.start("what-if", what_if_work(edit.today_run, edit.edited_run, 6))
        deadline = time.monotonic() + 20
        while job.done < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        job.cancel()
        assert job.wait(20)
    assert job.state == CANCELLED and job.result is None
    assert job.done < job.total == 18


def test_a_what_if_pairs_today_and_the_edit_with_the_theory_beside(short: Loaded) -> None:
    edit = apply_controls(short, dataclasses.replace(short.start, target=0.85))
    assert edit.today_run is not None and edit.edited_run is not None
    with ThreadPoolExecutor(2) as inner:
        job = Runner(inner).start("what-if", what_if_work(edit.today_run, edit.edited_run, 4))
        assert job.wait(60)
    assert job.state == DONE, job.error
    assert job.done == job.total == 12
    rows = {r.key: r for r in figure_rows(job.result.comparison)}
    assert set(rows) >= {"roi", "item_fill_rate", "cycle_service_level", "on_time_rate",
                         "perfect_order_rate", "defections", "avg_inventory_value",
                         "operating_profit"}
    assert "–" in rows["roi"].today_ci and "–" in rows["roi"].edited_ci
    assert rows["avg_inventory_value"].change.startswith("-")  # a lower target holds less
    assert rows["avg_inventory_value"].significant == -1
    theory = job.result.theory
    assert [t.sku for t in theory] == list(short.scenario.skus)
    for row in theory:  # the smallest reorder point meeting the target: predicted ≥ target
        assert row.target == 0.85 and row.predicted is not None
        assert row.predicted >= 0.85 - 1e-9
        assert 0 <= row.simulated["ci_low"] <= row.simulated["mean"] <= \
            row.simulated["ci_high"] <= 1
    texts = theory_texts(theory)
    assert texts[0].target == "85.0 %" and texts[0].gap.endswith("points")


def test_sweep_targets_are_bounded() -> None:
    assert sweep_targets(0.85, 0.99, 8) == [0.85, 0.87, 0.89, 0.91, 0.93, 0.95, 0.97, 0.99]
    for low, high, points in ((0.9, 0.8, 5), (0.0, 0.9, 5), (0.8, 0.99, 2), (0.8, 1.0, 5)):
        with pytest.raises(ValueError, match="the sweep needs"):
            sweep_targets(low, high, points)


# ------------------------------------------------------------------------- command


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCES), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_help_does_not_import_the_framework() -> None:
    done = _run("import sys\nfrom servicesim.cli import main\n"
                "code = main(['app', '--help'])\n"
                "print('LOADED' if {'shiny', 'uvicorn', 'servicesim.app.page'} & "
                "set(sys.modules) else 'LIGHT', code)")
    assert "--results-dir" in done.stdout and "--port" in done.stdout
    assert done.stdout.strip().endswith("LIGHT 0"), done.stdout + done.stderr


def test_without_the_extra_the_command_says_how_to_install_it() -> None:
    done = _run("import sys\nsys.modules['shiny'] = None\n"
                "from servicesim.cli import main\n"
                "sys.exit(main(['app', 'scenarios/baseline.yaml', '--port', '8999']))")
    assert done.returncode == 2
    assert "pip install 'servicesim[app]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_port_or_scenario_is_a_clear_error() -> None:
    done = _run("import socket, sys\nfrom servicesim.cli import main\n"
                "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
                "port = str(s.getsockname()[1])\n"
                "sys.exit(main(['app', 'scenarios/baseline.yaml', '--port', port]))")
    assert done.returncode == 2 and "choose another --port" in done.stderr
    assert "Traceback" not in done.stderr
    done = _run("import sys\nfrom servicesim.cli import main\n"
                "sys.exit(main(['app', 'no-such.yaml', '--port', '70000']))")
    assert done.returncode == 2 and "expected a port from 1 to 65535" in done.stderr


def test_float_noise_is_no_change(loaded: Loaded) -> None:
    now = dataclasses.replace(loaded.start, target=0.95 + 1e-13)
    overrides, problems = scenario_overrides(loaded, now)
    assert overrides == [] and problems == []
