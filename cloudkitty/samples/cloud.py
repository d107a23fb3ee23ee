"""The sample cloud: four projects whose instances, volumes, images and
floating IPs come and go, hour after hour.

Every draw comes from a keyed hash (BLAKE2b) of the seed and of absolute
time, never from the wall clock, ``random`` or floating point: the usage of
a given hour is the same on every machine and whenever it is generated, so
regenerating the file later only appends hours, it never rewrites the hours
already rated.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import uuid
from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

HOUR = 3600
#: Every resource timeline starts here, long before any window we generate,
#: so the cloud has reached its steady state when the window opens.
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
EPOCH_SECONDS = int(EPOCH.timestamp())

#: Traffic at each UTC hour of the day, in percent of the daily peak.
DIURNAL: tuple[int, ...] = (
    35, 30, 28, 27, 28, 32, 40, 55, 70, 82, 90, 95,
    98, 100, 98, 95, 92, 88, 80, 72, 62, 52, 45, 40,
)  # fmt: skip

GIB = 1024**3
MIB = 1024**2
GB = 1000**3


@dataclasses.dataclass(frozen=True)
class Flavor:
    name: str
    vcpus: int
    ram_mb: int


#: Smallest first: a resize moves an instance one step up this list.
FLAVORS = (
    Flavor("m1.tiny", 1, 512),
    Flavor("m1.small", 1, 2048),
    Flavor("m1.medium", 2, 4096),
    Flavor("m1.large", 4, 8192),
    Flavor("m1.xlarge", 8, 16384),
)
_FLAVOR_BY_NAME = {f.name: f for f in FLAVORS}


@dataclasses.dataclass(frozen=True)
class Profile:
    """How one project uses the cloud. Ranges are inclusive ``(low, high)``."""

    name: str
    project_id: str
    instances: int  # instance slots: at most this many instances at once
    flavors: tuple[tuple[str, int], ...]  # (flavor name, weight)
    lifetime: tuple[int, int]  # hours an instance lives
    idle: tuple[int, int]  # hours a slot stays empty between two instances
    resize_percent: int
    windows_percent: int
    volumes: int
    volume_sizes: tuple[int, ...]  # GiB
    ssd_percent: int
    images: int
    floating_ips: int
    egress_mb: tuple[int, int]  # per instance and hour at the daily peak
    ingress_percent: int  # ingress as a share of egress


PROJECTS: tuple[Profile, ...] = (
    # A production web shop: long-lived mid-size servers, fast disks, busy.
    Profile(
        name="web-shop",
        project_id="a26df0da3fc656c88488c7411a3014d4",
        instances=5,
        flavors=(("m1.medium", 3), ("m1.large", 2)),
        lifetime=(240, 1500),
        idle=(1, 12),
        resize_percent=30,
        windows_percent=0,
        volumes=3,
        volume_sizes=(50, 100, 200),
        ssd_percent=70,
        images=2,
        floating_ips=2,
        egress_mb=(150, 600),
        ingress_percent=25,
    ),
    # Data science: big instances for days, big volumes (volume discount).
    Profile(
        name="data-lab",
        project_id="cab00c9eac1353ce878d202b2058cae3",
        instances=3,
        flavors=(("m1.large", 1), ("m1.xlarge", 2)),
        lifetime=(24, 300),
        idle=(6, 72),
        resize_percent=40,
        windows_percent=0,
        volumes=2,
        volume_sizes=(250, 500, 1000),
        ssd_percent=30,
        images=3,
        floating_ips=1,
        egress_mb=(20, 80),
        ingress_percent=400,
    ),
    # CI runners: many short-lived small instances, no volumes.
    Profile(
        name="ci-runners",
        project_id="af7f84a2860550b89d650bb13dc4b503",
        instances=6,
        flavors=(("m1.small", 3), ("m1.medium", 1)),
        lifetime=(1, 12),
        idle=(1, 8),
        resize_percent=0,
        windows_percent=0,
        volumes=0,
        volume_sizes=(),
        ssd_percent=0,
        images=2,
        floating_ips=0,
        egress_mb=(5, 40),
        ingress_percent=300,
    ),
    # A developer's sandbox: a couple of desktops, some of them Windows.
    Profile(
        name="sandbox",
        project_id="f63a4e882218569a82a75fc18c36c9f3",
        instances=2,
        flavors=(("m1.tiny", 1), ("m1.small", 2)),
        lifetime=(48, 400),
        idle=(24, 240),
        resize_percent=20,
        windows_percent=60,
        volumes=1,
        volume_sizes=(20, 40),
        ssd_percent=0,
        images=1,
        floating_ips=1,
        egress_mb=(1, 10),
        ingress_percent=200,
    ),
)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One line of the usage file; ``timestamp`` in epoch seconds."""

    metric: str
    timestamp: int
    labels: tuple[tuple[str, str], ...]
    value: int


class Stream:
    """Reproducible integers: BLAKE2b of a key and a counter.

    Only integer arithmetic, so results never depend on the platform's
    floating point or on Python's ``random`` algorithms.
    """

    def __init__(self, *key: object) -> None:
        self._key = "/".join(str(k) for k in key).encode()
        self._count = 0

    def next64(self) -> int:
        data = self._key + b"#" + str(self._count).encode()
        self._count += 1
        return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")

    def between(self, low: int, high: int) -> int:
        """An integer in ``[low, high]`` (modulo bias is negligible on 64 bits)."""
        return low + self.next64() % (high - low + 1)

    def chance(self, percent: int) -> bool:
        return self.next64() % 100 < percent

    def pick(self, weighted: Sequence[tuple[T, int]]) -> T:
        ticket = self.next64() % sum(weight for _, weight in weighted)
        for item, weight in weighted:
            if ticket < weight:
                return item
            ticket -= weight
        raise AssertionError("unreachable: the ticket is below the total weight")


def noise(*key: object) -> int:
    """One reproducible 64-bit integer for a key (per-hour variations)."""
    return Stream(*key).next64()


def resource_id(*key: object) -> str:
    """A UUID-looking identifier derived from a key."""
    digest = hashlib.blake2b("/".join(str(k) for k in key).encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


@dataclasses.dataclass(frozen=True)
class Life:
    """One resource on a slot: alive during hours ``[start, end)`` since EPOCH;
    ``attrs`` draws its attributes independently of the timeline."""

    ordinal: int
    start: int
    end: int
    attrs: Stream


def lives(
    key: tuple[object, ...], lifetime: tuple[int, int], idle: tuple[int, int], first: int, last: int
) -> Iterator[Life]:
    """The resources of one slot that are alive at some hour of ``[first, last]``.

    The timeline is always drawn from EPOCH, whatever the window, so one
    hour gets the same resources in every window that contains it.
    """
    timeline = Stream(*key, "timeline")
    hour, ordinal = 0, 0
    while hour <= last:
        start = hour + timeline.between(*idle)
        end = start + timeline.between(*lifetime)
        if end > first and start <= last:
            yield Life(ordinal, start, end, Stream(*key, ordinal))
        hour, ordinal = end, ordinal + 1


def _hours(life: Life, first: int, last: int) -> range:
    return range(max(life.start, first), min(life.end - 1, last) + 1)


def _stamp(hour: int) -> int:
    return EPOCH_SECONDS + hour * HOUR


def _bigger(flavor: Flavor) -> Flavor:
    index = FLAVORS.index(flavor)
    return FLAVORS[min(index + 1, len(FLAVORS) - 1)]


def _instances(seed: object, project: Profile, first: int, last: int) -> Iterator[Sample]:
    for slot in range(project.instances):
        key = (seed, project.name, "instance", slot)
        for life in lives(key, project.lifetime, project.idle, first, last):
            attrs = life.attrs
            flavor = _FLAVOR_BY_NAME[attrs.pick(project.flavors)]
            resize_at = None
            if life.end - life.start >= 2 and attrs.chance(project.resize_percent):
                resize_at = attrs.between(life.start + 1, life.end - 1)
            windows = attrs.chance(project.windows_percent)
            distro = (
                "windows" if windows else attrs.pick((("ubuntu", 3), ("debian", 2), ("rocky", 1)))
            )
            egress_mb = attrs.between(*project.egress_mb)
            instance_id = resource_id(*key, life.ordinal)
            for hour in _hours(life, first, last):
                current = flavor if resize_at is None or hour < resize_at else _bigger(flavor)
                stamp = _stamp(hour)
                yield Sample(
                    "instance_up",
                    stamp,
                    (
                        ("project_id", project.project_id),
                        ("instance_id", instance_id),
                        ("flavor_name", current.name),
                        ("vcpus", str(current.vcpus)),
                        ("ram_mb", str(current.ram_mb)),
                        ("os_distro", distro),
                    ),
                    1,
                )
                yield from _traffic(seed, project, instance_id, egress_mb, hour)


def _traffic(
    seed: object, project: Profile, instance_id: str, egress_mb: int, hour: int
) -> Iterator[Sample]:
    # Integer arithmetic only: bytes = peak x daily curve x +-20% noise.
    curve = DIURNAL[hour % 24]
    egress = egress_mb * 1_000_000 * curve * (80 + noise(seed, instance_id, hour, "tx") % 41)
    egress //= 10_000
    ingress = egress * project.ingress_percent * (50 + noise(seed, instance_id, hour, "rx") % 101)
    ingress //= 10_000
    labels = (("project_id", project.project_id), ("instance_id", instance_id))
    yield Sample("network_receive_bytes", _stamp(hour), labels, ingress)
    yield Sample("network_transmit_bytes", _stamp(hour), labels, egress)


def _volumes(seed: object, project: Profile, first: int, last: int) -> Iterator[Sample]:
    for slot in range(project.volumes):
        key = (seed, project.name, "volume", slot)
        for life in lives(key, (200, 2000), (24, 300), first, last):
            attrs = life.attrs
            size = attrs.pick(tuple((size, 1) for size in project.volume_sizes))
            volume_type = "ssd" if attrs.chance(project.ssd_percent) else "standard"
            # Some volumes get extended (doubled) during their life.
            extend_at = None
            if life.end - life.start >= 2 and attrs.chance(25):
                extend_at = attrs.between(life.start + 1, life.end - 1)
            volume_id = resource_id(*key, life.ordinal)
            for hour in _hours(life, first, last):
                current = size if extend_at is None or hour < extend_at else size * 2
                yield Sample(
                    "volume_size_gib",
                    _stamp(hour),
                    (
                        ("project_id", project.project_id),
                        ("volume_id", volume_id),
                        ("volume_type", volume_type),
                    ),
                    current,
                )


def _images(seed: object, project: Profile, first: int, last: int) -> Iterator[Sample]:
    for slot in range(project.images):
        key = (seed, project.name, "image", slot)
        for life in lives(key, (300, 3000), (1, 200), first, last):
            attrs = life.attrs
            # Multiples of 64 MiB: the size in GiB has at most 4 decimals.
            size = 64 * MIB * attrs.between(4, 160)
            disk_format = attrs.pick((("qcow2", 3), ("raw", 1)))
            image_id = resource_id(*key, life.ordinal)
            for hour in _hours(life, first, last):
                yield Sample(
                    "image_size_bytes",
                    _stamp(hour),
                    (
                        ("project_id", project.project_id),
                        ("image_id", image_id),
                        ("disk_format", disk_format),
                    ),
                    size,
                )


def _floating_ips(seed: object, project: Profile, first: int, last: int) -> Iterator[Sample]:
    for slot in range(project.floating_ips):
        key = (seed, project.name, "floating_ip", slot)
        for life in lives(key, (200, 3000), (1, 100), first, last):
            address = f"203.0.113.{1 + life.attrs.between(0, 253)}"  # TEST-NET-3
            floating_ip_id = resource_id(*key, life.ordinal)
            for hour in _hours(life, first, last):
                yield Sample(
                    "floating_ip_allocated",
                    _stamp(hour),
                    (
                        ("project_id", project.project_id),
                        ("floating_ip_id", floating_ip_id),
                        ("floating_ip_address", address),
                    ),
                    1,
                )


def hour_index(moment: datetime.datetime) -> int:
    """Hours since EPOCH of the hour containing ``moment``."""
    return int((moment - EPOCH).total_seconds()) // HOUR


def generate(seed: object, first: datetime.datetime, last: datetime.datetime) -> list[Sample]:
    """Every sample of the hours from ``first`` to ``last`` (both included),
    sorted by metric, time and labels (the order of the usage file)."""
    if first < EPOCH:
        raise ValueError(f"the sample cloud starts on {EPOCH.isoformat()}")
    low, high = hour_index(first), hour_index(last)
    samples: list[Sample] = []
    for project in PROJECTS:
        for make in (_instances, _volumes, _images, _floating_ips):
            samples.extend(make(seed, project, low, high))
    samples.sort(key=lambda s: (s.metric, s.timestamp, s.labels))
    return samples
