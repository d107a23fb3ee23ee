"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 23:05:02.517299
"""

import sqlalchemy as sa
from alembic import op

from cloudkitty.db import types as ck_types  # noqa: F401


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hashmap_groups',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hashmap_groups')),
    sa.UniqueConstraint('group_id', name=op.f('uq_hashmap_groups_group_id')),
    sa.UniqueConstraint('name', name=op.f('uq_hashmap_groups_name'))
    )
    op.create_table('hashmap_services',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('service_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hashmap_services')),
    sa.UniqueConstraint('name', name=op.f('uq_hashmap_services_name')),
    sa.UniqueConstraint('service_id', name=op.f('uq_hashmap_services_service_id'))
    )
    op.create_table('modules_state',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('state', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_modules_state'))
    )
    op.create_table('pyscripts_scripts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('script_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('checksum', sa.String(length=128), nullable=False),
    sa.Column('created_at', ck_types.UTCDateTime(), nullable=False),
    sa.Column('start', ck_types.UTCDateTime(), nullable=False),
    sa.Column('end', ck_types.UTCDateTime(), nullable=True),
    sa.Column('description', sa.String(length=256), nullable=True),
    sa.Column('deleted', ck_types.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('updated_by', sa.String(length=255), nullable=True),
    sa.Column('deleted_by', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pyscripts_scripts')),
    sa.UniqueConstraint('script_id', name=op.f('uq_pyscripts_scripts_script_id'))
    )
    with op.batch_alter_table('pyscripts_scripts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pyscripts_scripts_name'), ['name'], unique=False)

    op.create_table('service_to_collector_mappings',
    sa.Column('service', sa.String(length=255), nullable=False),
    sa.Column('collector', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('service', name=op.f('pk_service_to_collector_mappings'))
    )
    op.create_table('states',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('state', sa.BigInteger(), nullable=False),
    sa.Column('s_metadata', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_states'))
    )
    op.create_table('hashmap_fields',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('field_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['hashmap_services.id'], name=op.f('fk_hashmap_fields_service_id_hashmap_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hashmap_fields')),
    sa.UniqueConstraint('field_id', name=op.f('uq_hashmap_fields_field_id')),
    sa.UniqueConstraint('service_id', 'name', name=op.f('uq_hashmap_fields_service_id_name'))
    )
    op.create_table('hashmap_mappings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mapping_id', sa.String(length=36), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=True),
    sa.Column('cost', ck_types.ExactDecimal(precision=40, scale=28), nullable=False),
    sa.Column('map_type', sa.Enum('flat', 'rate', name='enum_map_type', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('field_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', ck_types.UTCDateTime(), nullable=False),
    sa.Column('start', ck_types.UTCDateTime(), nullable=False),
    sa.Column('end', ck_types.UTCDateTime(), nullable=True),
    sa.Column('description', sa.String(length=256), nullable=True),
    sa.Column('deleted', ck_types.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('updated_by', sa.String(length=255), nullable=True),
    sa.Column('deleted_by', sa.String(length=255), nullable=True),
    sa.CheckConstraint('(service_id IS NULL) <> (field_id IS NULL)', name=op.f('ck_hashmap_mappings_one_parent')),
    sa.ForeignKeyConstraint(['field_id'], ['hashmap_fields.id'], name=op.f('fk_hashmap_mappings_field_id_hashmap_fields'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['hashmap_groups.id'], name=op.f('fk_hashmap_mappings_group_id_hashmap_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['hashmap_services.id'], name=op.f('fk_hashmap_mappings_service_id_hashmap_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hashmap_mappings')),
    sa.UniqueConstraint('mapping_id', name=op.f('uq_hashmap_mappings_mapping_id'))
    )
    with op.batch_alter_table('hashmap_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hashmap_mappings_field_id'), ['field_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hashmap_mappings_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hashmap_mappings_service_id'), ['service_id'], unique=False)

    op.create_table('hashmap_thresholds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('threshold_id', sa.String(length=36), nullable=False),
    sa.Column('level', ck_types.ExactDecimal(precision=20, scale=8), nullable=False),
    sa.Column('cost', ck_types.ExactDecimal(precision=40, scale=28), nullable=False),
    sa.Column('map_type', sa.Enum('flat', 'rate', name='enum_hashmap_type', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('field_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.String(length=255), nullable=True),
    sa.CheckConstraint('(service_id IS NULL) <> (field_id IS NULL)', name=op.f('ck_hashmap_thresholds_one_parent')),
    sa.ForeignKeyConstraint(['field_id'], ['hashmap_fields.id'], name=op.f('fk_hashmap_thresholds_field_id_hashmap_fields'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['hashmap_groups.id'], name=op.f('fk_hashmap_thresholds_group_id_hashmap_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['hashmap_services.id'], name=op.f('fk_hashmap_thresholds_service_id_hashmap_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hashmap_thresholds')),
    sa.UniqueConstraint('level', 'field_id', 'tenant_id', name=op.f('uq_hashmap_thresholds_level_field_id_tenant_id')),
    sa.UniqueConstraint('level', 'service_id', 'tenant_id', name=op.f('uq_hashmap_thresholds_level_service_id_tenant_id')),
    sa.UniqueConstraint('threshold_id', name=op.f('uq_hashmap_thresholds_threshold_id'))
    )
    with op.batch_alter_table('hashmap_thresholds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hashmap_thresholds_field_id'), ['field_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hashmap_thresholds_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hashmap_thresholds_service_id'), ['service_id'], unique=False)



def downgrade() -> None:
    # Dropping a table drops its indexes; dropping indexes first fails on
    # MariaDB where they back foreign keys.
    for table in (
        "pyscripts_scripts",
        "hashmap_thresholds",
        "hashmap_mappings",
        "hashmap_fields",
        "hashmap_groups",
        "hashmap_services",
        "service_to_collector_mappings",
        "states",
        "modules_state",
    ):
        op.drop_table(table)
