"""metrics.yml and pricebook.yml agree with each other and with the generator."""

from __future__ import annotations

import os

from cloudkitty.collector import file, metrics
from cloudkitty.samples import cloud, generate_usage, load_pricebook

SAMPLES = os.path.dirname(cloud.__file__)


def _definitions():
    return metrics.load_metrics(
        os.path.join(SAMPLES, "metrics.yml"),
        scope_key="project_id",
        extra_args=file.FileCollector.EXTRA_ARGS,
    )


def test_metrics_yml_is_valid_for_the_file_collector_and_covers_the_usage():
    definitions = _definitions()
    assert {d.metric for d in definitions.values()} == set(generate_usage.HELP)


def test_every_priced_service_and_field_exists_in_metrics_yml():
    definitions = {d.name: d for d in _definitions().values()}
    for rule in load_pricebook.read_pricebook():
        assert rule.service in definitions, rule.label
        if rule.field:
            definition = definitions[rule.service]
            assert rule.field in (*definition.groupby, *definition.metadata), rule.label


def test_project_rules_name_sample_projects():
    projects = {p.project_id for p in cloud.PROJECTS}
    tenants = {r.tenant for r in load_pricebook.read_pricebook() if r.tenant}
    assert tenants and tenants <= projects
