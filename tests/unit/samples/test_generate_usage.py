"""The sample cloud and its usage file: deterministic, hour by hour."""

from __future__ import annotations

import datetime

import pytest

from cloudkitty.collector import file_formats
from cloudkitty.samples import cloud, generate_usage

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
# Early in the cloud's timeline: generating is cheap there.
T0 = datetime.datetime(2024, 2, 1, tzinfo=UTC)


def _records(samples):
    return {(s.metric, s.timestamp, s.labels, s.value) for s in samples}


def test_stream_is_pinned():
    # The sample cloud must not change under a rerun: if this value moves,
    # every quickstart database disagrees with its regenerated usage.
    assert cloud.Stream("pin", 1).next64() == 7825705990967826395
    assert cloud.resource_id("pin") == "100c4fc8-08f3-47ab-a827-79b6787b4a2f"


def test_same_seed_same_file(tmp_path):
    now = T0 + datetime.timedelta(hours=5, minutes=17)
    first, second = tmp_path / "a.om", tmp_path / "b.om"
    generate_usage.generate_file(str(first), now=now, days=1)
    generate_usage.generate_file(str(second), now=now, days=1)
    assert first.read_bytes() == second.read_bytes()


def test_an_hour_is_the_same_in_every_window():
    early = cloud.generate(2026, T0, T0 + 10 * HOUR)
    late = cloud.generate(2026, T0 + 4 * HOUR, T0 + 20 * HOUR)
    low, high = (T0 + 4 * HOUR).timestamp(), (T0 + 10 * HOUR).timestamp()
    overlap_early = {r for r in _records(early) if low <= r[1] <= high}
    overlap_late = {r for r in _records(late) if low <= r[1] <= high}
    assert overlap_early and overlap_early == overlap_late


def test_another_seed_is_another_cloud():
    assert _records(cloud.generate(1, T0, T0 + 6 * HOUR)) != _records(
        cloud.generate(2, T0, T0 + 6 * HOUR)
    )


def test_samples_are_hourly_inside_the_window_and_attributable():
    samples = cloud.generate(2026, T0, T0 + 11 * HOUR)
    assert {s.timestamp for s in samples} == {int((T0 + i * HOUR).timestamp()) for i in range(12)}
    assert {s.metric for s in samples} == set(generate_usage.HELP)
    assert {dict(s.labels)["project_id"] for s in samples} == {p.project_id for p in cloud.PROJECTS}
    assert all(s.value >= 0 for s in samples)
    images = [s for s in samples if s.metric == "image_size_bytes"]
    assert images and all(s.value % (64 * cloud.MIB) == 0 for s in images)


def test_resizes_change_the_flavor_of_a_running_instance():
    samples = cloud.generate(2026, T0, T0 + 10 * 24 * HOUR)
    flavors: dict[str, set[str]] = {}
    for s in samples:
        if s.metric == "instance_up":
            labels = dict(s.labels)
            flavors.setdefault(labels["instance_id"], set()).add(labels["flavor_name"])
    assert any(len(names) == 2 for names in flavors.values())


def test_csv_and_openmetrics_carry_the_same_records():
    samples = cloud.generate(2026, T0, T0 + 3 * HOUR)
    om = file_formats.read_openmetrics(generate_usage.render(samples, "openmetrics"), "om")
    rows = file_formats.read_csv(generate_usage.render(samples, "csv"), "csv")

    def key(record):
        return (record.metric, record.timestamp, tuple(sorted(record.labels.items())), record.value)

    assert sorted(map(key, om)) == sorted(map(key, rows))
    assert len(samples) == len(
        list(file_formats.read_openmetrics(generate_usage.render(samples, "openmetrics"), "om"))
    )


def test_openmetrics_text_ends_with_eof_and_declares_each_family_once():
    text = generate_usage.to_openmetrics(cloud.generate(2026, T0, T0 + HOUR))
    assert text.endswith("# EOF\n")
    types = [line for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(types) == len(set(types)) == len(generate_usage.HELP)


@pytest.mark.parametrize(
    ("now", "first", "last"),
    [
        # Early in a month: 30 days back, before the month started.
        (
            datetime.datetime(2026, 3, 5, 10, 20, tzinfo=UTC),
            datetime.datetime(2026, 2, 3, 10, tzinfo=UTC),
            datetime.datetime(2026, 3, 5, 10, tzinfo=UTC),
        ),
        # Late in a 31-day month: back to its first hour, rated from there.
        (
            datetime.datetime(2026, 3, 31, 23, 59, tzinfo=UTC),
            datetime.datetime(2026, 3, 1, tzinfo=UTC),
            datetime.datetime(2026, 3, 31, 23, tzinfo=UTC),
        ),
    ],
)
def test_window_reaches_back_to_the_start_of_the_month(now, first, last):
    window = generate_usage.window_for(now)
    assert (window.first, window.last) == (first, last)
    assert window.hours == (last - first) // HOUR + 1


def test_nothing_before_the_cloud_exists():
    with pytest.raises(ValueError):
        cloud.generate(2026, cloud.EPOCH - HOUR, cloud.EPOCH)


def test_file_is_replaced_atomically(tmp_path):
    path = tmp_path / "usage" / "usage.csv"
    generate_usage.generate_file(str(path), fmt="csv", now=T0 + 2 * HOUR, days=1)
    assert path.read_text().startswith("timestamp,metric,value,")
    assert [p.name for p in path.parent.iterdir()] == ["usage.csv"]  # no temporary left


def test_command_line(tmp_path, capsys):
    out = tmp_path / "usage.om"
    assert (
        generate_usage.main(["--output", str(out), "--now", "2024-02-02T03:30:00Z", "--days", "1"])
        == 0
    )
    assert "hourly samples of 4 projects, 2024-02-01 00:00 to 2024-02-02 03:00 UTC" in (
        capsys.readouterr().out
    )
    assert out.read_text().endswith("# EOF\n")
