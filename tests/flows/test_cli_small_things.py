"""What users hit at the edges: customer ids in another case, misspelt services, unreadable
dates, a missing optional extra, a no-op close that ends cleanly."""

from __future__ import annotations

from datetime import date

import pytest

from flows.defaults import DEMO_AS_OF, DEMO_INBOX
from tests.conftest import write_inbox
from tests.flows.conftest import STORY
from transforms.run.nightly import run_nightly


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    run_nightly(DEMO_INBOX, folder / "w.duckdb", folder / "out", DEMO_AS_OF, reports_enabled=False)
    return folder / "w.duckdb"


def test_report_customer__id_in_another_case__the_stored_id(demo_warehouse):
    from flows.cli import known_customer

    assert known_customer(demo_warehouse, "c-1003") == "C-1003"
    assert known_customer(demo_warehouse, "C-1003") == "C-1003"


def test_report_customer__misspelt_id__one_line_with_close_matches_exit_2(demo_warehouse, tmp_path, capsys):
    from flows.cli import main

    assert main(["report", "--customer", "C-1O03", "--warehouse", str(demo_warehouse), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "prepaid: no customer 'C-1O03' in the warehouse; did you mean C-1003?\n"
    assert list(tmp_path.iterdir()) == []


def test_service_in_no_rate_and_no_block__one_warning_per_service_with_its_entries(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", **{**STORY, "timelogs": (
        "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
        "e1,c1,ann,suport,2026-01-10T09:00,60,2026-01-10T12:00\n"
        "e2,c1,ann,suport,2026-01-11T09:00,30,2026-01-11T12:00\n"
        "e3,c1,ann,support,2026-01-12T09:00,30,2026-01-12T12:00")})
    report = run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), reports_enabled=False)

    assert report.warnings == ["service 'suport' of 2 entries is named by no rate and no block: a typo of "
                               "'support'? (fix the time log, or name it in rates.csv)",
                               "no seller.toml in the inbox: documents carry no seller details and no e-invoice "
                               "(XML) is written"]


def test_unreadable_date_argument__names_the_format_expected(capsys):
    from flows.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["nightly", "--as-of", "31/03/2026"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "prepaid nightly: error: argument --as-of: expected a date as YYYY-MM-DD (e.g. 2026-03-31), got '31/03/2026'")


def test_unreadable_date_in_purchases__quarantine_detail_names_the_format(reconcile):
    out = reconcile("2026-01-31", purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                                            "b1,c1,hours,10,1000.00,05/01/2026")
    assert [(q["column"], q["detail"]) for q in out.quarantine] == [
        ("purchased_on", "purchased_on '05/01/2026' cannot be read (expected a date as YYYY-MM-DD)")]


def test_shards_without_dask_extra__one_line_naming_the_install_exit_2(tmp_path, capsys, monkeypatch):
    from flows import extras
    from flows.cli import main

    monkeypatch.setattr(extras, "DASK_MODULES", ("prefect_dask", "no_such_module_for_this_test"))
    assert main(["nightly", "--shards", "2", "--inbox", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert capsys.readouterr().err == ("prepaid: --shards needs Dask, which is not installed "
                                       "(no_such_module_for_this_test missing): pip install -e '.[dask]'\n")


def test_close_already_closed__report_keeps_no_frames_so_no_connection_outlives_it(books):
    books.inbox()
    books.close("2026-01")
    again = books.close("2026-01")

    assert again.outcome == "already_closed" and again.already_closed.__traceback__ is None


def test_base_install_without_dask__a_night_runs_and_never_imports_it(tmp_path):
    import subprocess
    import sys

    script = f"""
import sys
class NoDask:  # as if the [dask] extra were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('dask', 'distributed', 'prefect_dask'):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, NoDask())
from flows.cli import main
code = main(['demo', '-q', '--warehouse', {str(tmp_path / 'w.duckdb')!r}, '--out', {str(tmp_path / 'out')!r}])
assert not {{'dask', 'distributed', 'prefect_dask'}} & set(sys.modules)
sys.exit(code)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("nightly run 1 as of 2026-03-31 committed: 15 documents issued")
