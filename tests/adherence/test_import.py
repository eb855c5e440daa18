"""Importing nightly usage: matching, bad lines, idempotence, the alert, the twin."""

import datetime
from decimal import Decimal

import pytest

from adherence import services
from adherence.choices import AdherenceState, UsageSource
from adherence.models import AdherenceStatus, UsageImport, UsageNight
from clinical.choices import AlertStatus, Metric, Severity
from clinical.models import BiometricAlert, DigitalTwin
from core.exceptions import ServiceError
from dme.choices import RentalStatus

from .conftest import TODAY, good, pap_rental, usage_csv


def test_it_imports_a_file_matched_by_the_device_serial(company, rental):
    data = usage_csv(rental.start_date, good(30), serial="23221D0001")
    result = services.import_usage(company, data)
    assert (result.created, result.updated, result.unchanged) == (30, 0, 0)
    assert UsageNight.objects.filter(rental=rental).count() == 30
    night = UsageNight.objects.get(rental=rental, night=rental.start_date)
    assert (night.hours, night.ahi, night.leak) == (
        Decimal("6.50"),
        Decimal("3.0"),
        Decimal("12.0"),
    )
    assert night.patient_id == rental.patient_id
    assert night.source == UsageSource.AIRVIEW
    assert result.status.state == AdherenceState.MET
    assert "30 night(s)" in result.summary()
    assert "adherence: met" in result.summary()


def test_it_matches_by_the_patient_number(company, rental):
    data = usage_csv(rental.start_date, good(5), patient=rental.patient.number)
    assert services.import_usage(company, data).status.rental == rental


def test_reimporting_the_same_file_changes_nothing(company, rental):
    data = usage_csv(rental.start_date, good(20), serial="23221D0001")
    services.import_usage(company, data)
    again = services.import_usage(company, data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 20)
    assert UsageNight.objects.filter(rental=rental).count() == 20
    assert UsageImport.objects.filter(rental=rental).count() == 2


def test_a_corrected_export_updates_its_nights(company, rental):
    services.import_usage(company, usage_csv(rental.start_date, good(10), serial="23221D0001"))
    fixed = usage_csv(rental.start_date, [*good(9), Decimal("2.00"), *good(2)], serial="23221D0001")
    result = services.import_usage(company, fixed)
    assert (result.created, result.updated, result.unchanged) == (2, 1, 9)
    assert UsageNight.objects.get(
        rental=rental, night=rental.start_date + datetime.timedelta(days=9)
    ).hours == Decimal("2.00")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2026-13-01,6.0,3,10", "line 4: the date '2026-13-01' is not a date"),
        ("{night},25,3,10", "line 4: the hours used (25) must be between 0 and 24"),
        ("{night},-1,3,10", "line 4: the hours used (-1) must be between 0 and 24"),
        ("{night},six,3,10", "line 4: the hours used 'six' are not a number"),
        ("{night},,3,10", "line 4: the hours used are empty"),
        ("{night},6,-2,10", "line 4: the AHI (-2) must be between 0 and 150"),
        ("{night},6,3,lots", "line 4: the leak 'lots' is not a number"),
    ],
)
def test_a_bad_row_refuses_the_file_with_its_line_number(company, rental, row, message):
    night = (rental.start_date + datetime.timedelta(days=5)).isoformat()
    data = usage_csv(rental.start_date, good(2), serial="23221D0001")
    lines = data.decode().splitlines()
    lines.insert(3, row.format(night=night))  # line 4 of the file
    with pytest.raises(ServiceError) as error:
        services.import_usage(company, ("\n".join(lines) + "\n").encode())
    assert error.value.code == "invalid_file"
    assert message in error.value.message
    assert error.value.fields["file"]
    assert not UsageNight.objects.exists()
    assert not UsageImport.objects.exists()


def test_a_night_twice_in_a_file_is_refused(company, rental):
    data = usage_csv(rental.start_date, good(2), serial="23221D0001")
    data += f"{rental.start_date.isoformat()},5.0,2,10\n".encode()
    with pytest.raises(ServiceError, match=r"line 6: the night .* is already on line 4"):
        services.import_usage(company, data)


def test_nights_before_the_rental_or_in_the_future_are_refused(company, rental):
    early = usage_csv(
        rental.start_date - datetime.timedelta(days=1), good(3), patient=rental.patient.number
    )
    with pytest.raises(ServiceError):
        services.import_usage(company, early)
    future = usage_csv(TODAY, good(3), serial="23221D0001")
    with pytest.raises(ServiceError, match="line 5: the night is in the future"):
        services.import_usage(company, future)
    assert not UsageNight.objects.exists()


def test_hours_as_hours_and_minutes_and_us_dates(company, rental):
    start = rental.start_date
    data = (
        "Philips Care Orchestrator export\nPatient ID: "
        f"{rental.patient.number}\nSession date,Usage hh:mm,AHI,Median leak\n"
        f"{start:%m/%d/%Y},6:30,4.2,\n{start + datetime.timedelta(days=1):%m/%d/%Y},3:59,,\n"
    ).encode()
    result = services.import_usage(company, data)
    assert result.usage_import.source == UsageSource.CARE_ORCHESTRATOR
    hours = list(UsageNight.objects.order_by("night").values_list("hours", "ahi", "leak"))
    assert hours == [(Decimal("6.50"), Decimal("4.2"), None), (Decimal("3.98"), None, None)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"hello,world\n1,2\n", "No header row"),
        (b"Date,AHI\n2026-01-01,3\n", "no hours-used column"),
        (b"Serial Number,X\nDate,Usage (hours)\n", "no night"),
    ],
)
def test_unreadable_files_are_refused(company, rental, data, message):
    with pytest.raises(ServiceError, match=message):
        services.import_usage(company, data)


def test_a_file_naming_no_device_or_patient_is_refused(company, rental):
    data = usage_csv(rental.start_date, good(3))
    with pytest.raises(ServiceError) as error:
        services.import_usage(company, data)
    assert error.value.code == "rental_not_found"
    assert services.import_usage(company, data, serial="23221D0001").created == 3


def test_another_companys_rental_is_never_matched(company, other_company):
    theirs = pap_rental(other_company, serial="OTHER0001")
    data = usage_csv(theirs.start_date, good(3), serial="OTHER0001")
    with pytest.raises(ServiceError) as error:
        services.import_usage(company, data)
    assert "OTHER0001" not in error.value.message  # a serial is never echoed
    assert not UsageNight.objects.exists()


def test_only_pap_rentals_that_are_not_returned_match(company):
    concentrator = pap_rental(company, serial="OXY1", hcpcs="E1390")
    returned = pap_rental(company, serial="PAP2")
    type(returned).objects.filter(pk=returned.pk).update(
        status=RentalStatus.RETURNED, end_date=TODAY, returned_on=TODAY
    )
    for serial, start in (("OXY1", concentrator.start_date), ("PAP2", returned.start_date)):
        with pytest.raises(ServiceError, match="No PAP rental"):
            services.import_usage(company, usage_csv(start, good(2), serial=serial))


def test_falling_short_opens_an_alert_that_rises_then_closes(company):
    start = TODAY - datetime.timedelta(days=85)
    rental = pap_rental(company, start, serial="SN-A")
    poor = [Decimal("2.0")] * 20
    status = services.import_usage(
        company, usage_csv(start, poor, serial="SN-A"), today=TODAY
    ).status
    assert status.state == AdherenceState.AT_RISK
    alert = BiometricAlert.objects.get(patient=rental.patient)
    assert (alert.metric, alert.severity, alert.status) == (
        Metric.CPAP_USAGE_HOURS,
        Severity.MEDIUM,
        AlertStatus.OPEN,
    )
    assert alert.value == Decimal("0.00")
    assert alert.threshold == Decimal("70")
    assert status.alert == alert

    # Poor nights up to day 75: 15 days remain, 21 good nights are out of reach.
    status = services.import_usage(
        company, usage_csv(start, [Decimal("2.0")] * 75, serial="SN-A"), today=TODAY
    ).status
    assert status.state == AdherenceState.NOT_MET
    alert.refresh_from_db()
    assert alert.severity == Severity.HIGH
    assert BiometricAlert.objects.filter(patient=rental.patient).count() == 1


def test_meeting_the_rule_resolves_the_alert(company):
    start = TODAY - datetime.timedelta(days=40)
    rental = pap_rental(company, start, serial="SN-B")
    services.import_usage(company, usage_csv(start, [Decimal("1.0")] * 10, serial="SN-B"))
    alert = BiometricAlert.objects.get(patient=rental.patient)
    services.import_usage(
        company, usage_csv(start, [Decimal("1.0")] * 10 + good(25), serial="SN-B")
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert AdherenceStatus.objects.get(rental=rental).state == AdherenceState.MET


def test_each_import_refreshes_the_digital_twin(company, rental):
    hours = [Decimal(str(3 + i * 0.1)) for i in range(30)]
    lines = usage_csv(rental.start_date, hours, serial="23221D0001").decode().splitlines()
    # AHI falls as use rises: a negative correlation.
    body = lines[:3] + [
        f"{line.split(',')[0]},{line.split(',')[1]},{10 - i * 0.2:.1f},{12 + i % 3}"
        for i, line in enumerate(lines[3:])
    ]
    services.import_usage(company, ("\n".join(body) + "\n").encode())
    twin = DigitalTwin.objects.get(patient=rental.patient)
    usage = twin.biometric_correlations["pap_usage"]
    assert usage["nights"] == 30
    assert usage["mean_hours_7d"] == pytest.approx(float(sum(hours[-7:]) / 7), abs=0.01)
    assert usage["mean_hours_30d"] == pytest.approx(float(sum(hours) / 30), abs=0.01)
    assert usage["trend_hours_per_day_30d"] == pytest.approx(0.1, abs=0.001)
    assert usage["ahi_hours_correlation"] == pytest.approx(-1.0, abs=0.001)
    assert usage["nights_4h_30d"] == 20
    first = twin.computed_at
    services.import_usage(company, usage_csv(rental.start_date, good(31), serial="23221D0001"))
    twin.refresh_from_db()
    assert twin.computed_at > first
    assert twin.biometric_correlations["pap_usage"]["nights"] == 31


def test_the_twin_keeps_what_integrators_put_there(company, rental):
    from tests.clinical.factories import DigitalTwinFactory

    DigitalTwinFactory(
        company=company, patient=rental.patient, biometric_correlations={"spo2_hr": 0.4}
    )
    services.import_usage(company, usage_csv(rental.start_date, good(3), serial="23221D0001"))
    twin = DigitalTwin.objects.get(patient=rental.patient)
    assert twin.biometric_correlations["spo2_hr"] == 0.4
    assert twin.biometric_correlations["pap_usage"]["nights"] == 3
