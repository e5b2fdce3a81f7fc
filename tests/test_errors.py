"""Errors a user can fix derive from one base, and the CLI prints them as one line."""

from __future__ import annotations

from cakupan import cli
from cakupan.errors import UserError
from cakupan.ingest.pseudonymise import MissingKeyError
from cakupan.ingest.withdrawal import WithdrawalError
from cakupan.platform.airflow_services import AirflowServicesError
from cakupan.platform.warehouse import WarehouseError
from cakupan.reference.loader import ReferenceError
from cakupan.reference.region_package import RegionPackageError
from cakupan.transform.award_rubric import RubricError


def test_every_error_a_user_can_fix_is_a_user_error_and_keeps_its_builtin_base():
    for error in (WarehouseError, AirflowServicesError, RegionPackageError, MissingKeyError, WithdrawalError):
        assert issubclass(error, UserError) and issubclass(error, RuntimeError)
    for error in (ReferenceError, RubricError):
        assert issubclass(error, UserError) and issubclass(error, ValueError)
    assert UserError in cli._user_errors()


def test_the_cli_prints_a_user_error_as_one_line(monkeypatch, capsys):
    def refuse(settings, args):
        raise RubricError("award/rubric.yml: weights must sum to 1")

    monkeypatch.setattr(cli, "cmd_demo", refuse)
    assert cli.main(["demo"]) != 0
    err = capsys.readouterr().err
    assert err.strip() == "cakupan: error: award/rubric.yml: weights must sum to 1"
