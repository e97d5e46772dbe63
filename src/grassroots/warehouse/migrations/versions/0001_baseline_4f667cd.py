"""Baseline: the tables of the release at commit 4f667cd.

The warehouse's tables as that release made them.
A warehouse made by that release has no revision table: ``grassroots db upgrade``
recognises its tables and records this revision before running the later ones. The views
are not here: :mod:`grassroots.warehouse.migrate` makes them from the catalog once a
warehouse is at the head.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grassroots.warehouse.migrate import refuse_downgrade

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# a unit's 12-digit code: on PostgreSQL in the collation "C", compared byte by byte
UNIT_CODE = sa.String(length=12).with_variant(sa.String(length=12, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table('area_closure',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('ancestor_code', UNIT_CODE, nullable=False),
    sa.Column('descendant_code', UNIT_CODE, nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('ancestor_level', sa.Integer(), nullable=False),
    sa.Column('descendant_level', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('period', 'ancestor_code', 'descendant_code')
    )
    op.create_index('ix_area_closure_descendant', 'area_closure', ['period', 'descendant_code'], unique=False)
    op.create_table('dim_indicator',
    sa.Column('indicator_code', sa.String(length=60), nullable=False),
    sa.Column('name_zh', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('aggregation', sa.String(length=20), nullable=False),
    sa.Column('formula', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('form_code', sa.String(length=40), nullable=False),
    sa.Column('from_level', sa.Integer(), nullable=False),
    sa.Column('numerator_measure', sa.String(length=80), nullable=True),
    sa.Column('denominator_measure', sa.String(length=80), nullable=True),
    sa.Column('factor', sa.Float(), nullable=False),
    sa.Column('of_indicator', sa.String(length=60), nullable=True),
    sa.PrimaryKeyConstraint('indicator_code')
    )
    op.create_table('fact_area',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('unit_code', UNIT_CODE, nullable=False),
    sa.Column('built_by', sa.Integer(), nullable=False),
    sa.Column('part', UNIT_CODE, nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('county_annual__reporting', sa.Integer(), nullable=True),
    sa.Column('county_annual__expected', sa.Integer(), nullable=True),
    sa.Column('leaders_assigned', sa.Float(), nullable=True),
    sa.Column('departments_pairing', sa.Float(), nullable=True),
    sa.Column('enterprises_pairing', sa.Float(), nullable=True),
    sa.Column('leader_visits', sa.Float(), nullable=True),
    sa.Column('coordination_meetings', sa.Float(), nullable=True),
    sa.Column('projects_coordinated', sa.Float(), nullable=True),
    sa.Column('problems_solved', sa.Float(), nullable=True),
    sa.Column('first_secretaries_dispatched', sa.Float(), nullable=True),
    sa.Column('reward_funds', sa.Float(), nullable=True),
    sa.Column('special_funds', sa.Float(), nullable=True),
    sa.Column('township_annual__reporting', sa.Integer(), nullable=True),
    sa.Column('township_annual__expected', sa.Integer(), nullable=True),
    sa.Column('trainings_held', sa.Float(), nullable=True),
    sa.Column('cadres_trained', sa.Float(), nullable=True),
    sa.Column('reserve_cadres', sa.Float(), nullable=True),
    sa.Column('volunteer_teams', sa.Float(), nullable=True),
    sa.Column('grid_stations', sa.Float(), nullable=True),
    sa.Column('disputes_resolved', sa.Float(), nullable=True),
    sa.Column('village_annual__reporting', sa.Integer(), nullable=True),
    sa.Column('village_annual__expected', sa.Integer(), nullable=True),
    sa.Column('villages', sa.Float(), nullable=True),
    sa.Column('class1_villages', sa.Float(), nullable=True),
    sa.Column('class2_villages', sa.Float(), nullable=True),
    sa.Column('class3_villages', sa.Float(), nullable=True),
    sa.Column('class3_weak_lax', sa.Float(), nullable=True),
    sa.Column('class3_finance_disorder', sa.Float(), nullable=True),
    sa.Column('class3_underdeveloped', sa.Float(), nullable=True),
    sa.Column('class3_conflicts', sa.Float(), nullable=True),
    sa.Column('rectification_targets', sa.Float(), nullable=True),
    sa.Column('converted_villages', sa.Float(), nullable=True),
    sa.Column('first_secretaries', sa.Float(), nullable=True),
    sa.Column('first_secretary_coverage__num', sa.Float(), nullable=True),
    sa.Column('venues_built', sa.Float(), nullable=True),
    sa.Column('venue_built_share_targets__num', sa.Float(), nullable=True),
    sa.Column('venue_standard_share__num', sa.Float(), nullable=True),
    sa.Column('committee_members', sa.Float(), nullable=True),
    sa.Column('committee_avg_age__num', sa.Float(), nullable=True),
    sa.Column('committee_avg_age__den', sa.Float(), nullable=True),
    sa.Column('secretary_avg_age__num', sa.Float(), nullable=True),
    sa.Column('secretary_avg_age__den', sa.Float(), nullable=True),
    sa.Column('committee_college', sa.Float(), nullable=True),
    sa.Column('committee_female', sa.Float(), nullable=True),
    sa.Column('party_members', sa.Float(), nullable=True),
    sa.Column('new_party_members', sa.Float(), nullable=True),
    sa.Column('college_officials', sa.Float(), nullable=True),
    sa.Column('helper_enterprises', sa.Float(), nullable=True),
    sa.Column('dev_projects', sa.Float(), nullable=True),
    sa.Column('office_funding', sa.Float(), nullable=True),
    sa.Column('activity_funding', sa.Float(), nullable=True),
    sa.Column('income_operating', sa.Float(), nullable=True),
    sa.Column('income_net', sa.Float(), nullable=True),
    sa.Column('empty_shell_villages', sa.Float(), nullable=True),
    sa.Column('collective_assets', sa.Float(), nullable=True),
    sa.Column('assets_100wan_villages', sa.Float(), nullable=True),
    sa.Column('village_annual__previous_rows', sa.Integer(), nullable=True),
    sa.Column('income_operating__previous', sa.Float(), nullable=True),
    sa.Column('income_net__previous', sa.Float(), nullable=True),
    sa.Column('village_annual__previous_comparable_rows', sa.Integer(), nullable=True),
    sa.Column('income_operating__previous_comparable', sa.Float(), nullable=True),
    sa.Column('income_net__previous_comparable', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('period', 'unit_code', 'built_by')
    )
    op.create_index('ix_fact_area_part', 'fact_area', ['period', 'part', 'built_by'], unique=False)
    op.create_table('fact_village',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('unit_code', UNIT_CODE, nullable=False),
    sa.Column('built_by', sa.Integer(), nullable=False),
    sa.Column('part', UNIT_CODE, nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('village_annual__reporting', sa.Integer(), nullable=True),
    sa.Column('village_annual__expected', sa.Integer(), nullable=True),
    sa.Column('villages', sa.Float(), nullable=True),
    sa.Column('class1_villages', sa.Float(), nullable=True),
    sa.Column('class2_villages', sa.Float(), nullable=True),
    sa.Column('class3_villages', sa.Float(), nullable=True),
    sa.Column('class3_weak_lax', sa.Float(), nullable=True),
    sa.Column('class3_finance_disorder', sa.Float(), nullable=True),
    sa.Column('class3_underdeveloped', sa.Float(), nullable=True),
    sa.Column('class3_conflicts', sa.Float(), nullable=True),
    sa.Column('rectification_targets', sa.Float(), nullable=True),
    sa.Column('converted_villages', sa.Float(), nullable=True),
    sa.Column('first_secretaries', sa.Float(), nullable=True),
    sa.Column('first_secretary_coverage__num', sa.Float(), nullable=True),
    sa.Column('venues_built', sa.Float(), nullable=True),
    sa.Column('venue_built_share_targets__num', sa.Float(), nullable=True),
    sa.Column('venue_standard_share__num', sa.Float(), nullable=True),
    sa.Column('committee_members', sa.Float(), nullable=True),
    sa.Column('committee_avg_age__num', sa.Float(), nullable=True),
    sa.Column('committee_avg_age__den', sa.Float(), nullable=True),
    sa.Column('secretary_avg_age__num', sa.Float(), nullable=True),
    sa.Column('secretary_avg_age__den', sa.Float(), nullable=True),
    sa.Column('committee_college', sa.Float(), nullable=True),
    sa.Column('committee_female', sa.Float(), nullable=True),
    sa.Column('party_members', sa.Float(), nullable=True),
    sa.Column('new_party_members', sa.Float(), nullable=True),
    sa.Column('college_officials', sa.Float(), nullable=True),
    sa.Column('helper_enterprises', sa.Float(), nullable=True),
    sa.Column('dev_projects', sa.Float(), nullable=True),
    sa.Column('office_funding', sa.Float(), nullable=True),
    sa.Column('activity_funding', sa.Float(), nullable=True),
    sa.Column('income_operating', sa.Float(), nullable=True),
    sa.Column('income_net', sa.Float(), nullable=True),
    sa.Column('empty_shell_villages', sa.Float(), nullable=True),
    sa.Column('collective_assets', sa.Float(), nullable=True),
    sa.Column('assets_100wan_villages', sa.Float(), nullable=True),
    sa.Column('village_annual__previous_rows', sa.Integer(), nullable=True),
    sa.Column('income_operating__previous', sa.Float(), nullable=True),
    sa.Column('income_net__previous', sa.Float(), nullable=True),
    sa.Column('village_annual__previous_comparable_rows', sa.Integer(), nullable=True),
    sa.Column('income_operating__previous_comparable', sa.Float(), nullable=True),
    sa.Column('income_net__previous_comparable', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('period', 'unit_code', 'built_by')
    )
    op.create_index('ix_fact_village_part', 'fact_village', ['period', 'part', 'built_by'], unique=False)
    op.create_table('landing_file',
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('path')
    )
    op.create_table('official_closure',
    sa.Column('ancestor_code', UNIT_CODE, nullable=False),
    sa.Column('descendant_code', UNIT_CODE, nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('ancestor_level', sa.Integer(), nullable=False),
    sa.Column('descendant_level', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('ancestor_code', 'descendant_code')
    )
    op.create_index('ix_official_closure_descendant', 'official_closure', ['descendant_code'], unique=False)
    op.create_table('period_tree',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('source_state', sa.Text(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closure_rows', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('period')
    )
    op.create_table('period_village',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('unit_code', UNIT_CODE, nullable=False),
    sa.Column('parent_code', UNIT_CODE, nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('period', 'unit_code')
    )
    op.create_index('ix_period_village_parent', 'period_village', ['period', 'parent_code'], unique=False)
    op.create_table('release',
    sa.Column('release_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.Text(), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('submissions', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('release_id'),
    sqlite_autoincrement=True
    )
    op.create_table('release_part',
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('part', UNIT_CODE, nullable=False),
    sa.Column('built_by', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('release_id', 'part')
    )
    op.create_table('stg_county_annual',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('sheet', sa.Text(), nullable=True),
    sa.Column('row_status', sa.String(length=10), nullable=False),
    sa.Column('unit_code', UNIT_CODE, nullable=True),
    sa.Column('unit_name', sa.Text(), nullable=True),
    sa.Column('leaders_assigned', sa.BigInteger(), nullable=True),
    sa.Column('departments_pairing', sa.BigInteger(), nullable=True),
    sa.Column('enterprises_pairing', sa.BigInteger(), nullable=True),
    sa.Column('leader_visits', sa.BigInteger(), nullable=True),
    sa.Column('coordination_meetings', sa.BigInteger(), nullable=True),
    sa.Column('projects_coordinated', sa.BigInteger(), nullable=True),
    sa.Column('problems_solved', sa.BigInteger(), nullable=True),
    sa.Column('first_secretaries_dispatched', sa.BigInteger(), nullable=True),
    sa.Column('reward_funds', sa.Float(), nullable=True),
    sa.Column('special_funds', sa.Float(), nullable=True),
    sa.Column('villages', sa.BigInteger(), nullable=True),
    sa.Column('class3_villages', sa.BigInteger(), nullable=True),
    sa.Column('converted_villages', sa.BigInteger(), nullable=True),
    sa.Column('conversion_rate', sa.Float(), nullable=True),
    sa.Column('committee_members', sa.BigInteger(), nullable=True),
    sa.Column('committee_college_share', sa.Float(), nullable=True),
    sa.Column('committee_female_share', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('submission_id', 'row_number'),
    postgresql_with={'fillfactor': 50}
    )
    op.create_index('ix_stg_county_annual_unit', 'stg_county_annual', ['unit_code'], unique=False)
    op.create_table('stg_township_annual',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('sheet', sa.Text(), nullable=True),
    sa.Column('row_status', sa.String(length=10), nullable=False),
    sa.Column('unit_code', UNIT_CODE, nullable=True),
    sa.Column('unit_name', sa.Text(), nullable=True),
    sa.Column('trainings_held', sa.BigInteger(), nullable=True),
    sa.Column('cadres_trained', sa.BigInteger(), nullable=True),
    sa.Column('reserve_cadres', sa.BigInteger(), nullable=True),
    sa.Column('volunteer_teams', sa.BigInteger(), nullable=True),
    sa.Column('grid_stations', sa.BigInteger(), nullable=True),
    sa.Column('disputes_resolved', sa.BigInteger(), nullable=True),
    sa.Column('villages', sa.BigInteger(), nullable=True),
    sa.Column('class3_villages', sa.BigInteger(), nullable=True),
    sa.Column('converted_villages', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('submission_id', 'row_number'),
    postgresql_with={'fillfactor': 50}
    )
    op.create_index('ix_stg_township_annual_unit', 'stg_township_annual', ['unit_code'], unique=False)
    op.create_table('stg_village_annual',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('sheet', sa.Text(), nullable=True),
    sa.Column('row_status', sa.String(length=10), nullable=False),
    sa.Column('unit_code', UNIT_CODE, nullable=True),
    sa.Column('unit_name', sa.Text(), nullable=True),
    sa.Column('zone_type', sa.String(length=40), nullable=True),
    sa.Column('star_rating', sa.BigInteger(), nullable=True),
    sa.Column('org_class', sa.String(length=40), nullable=True),
    sa.Column('problem_type', sa.String(length=40), nullable=True),
    sa.Column('rectification', sa.String(length=40), nullable=True),
    sa.Column('rectification_target', sa.Integer(), nullable=True),
    sa.Column('first_secretary', sa.Integer(), nullable=True),
    sa.Column('college_officials', sa.BigInteger(), nullable=True),
    sa.Column('helper_enterprises', sa.BigInteger(), nullable=True),
    sa.Column('dev_projects', sa.BigInteger(), nullable=True),
    sa.Column('committee_members', sa.BigInteger(), nullable=True),
    sa.Column('committee_avg_age', sa.Float(), nullable=True),
    sa.Column('secretary_age', sa.BigInteger(), nullable=True),
    sa.Column('committee_college', sa.BigInteger(), nullable=True),
    sa.Column('committee_female', sa.BigInteger(), nullable=True),
    sa.Column('party_members', sa.BigInteger(), nullable=True),
    sa.Column('new_party_members', sa.BigInteger(), nullable=True),
    sa.Column('office_funding', sa.Float(), nullable=True),
    sa.Column('activity_funding', sa.Float(), nullable=True),
    sa.Column('venue_area', sa.Float(), nullable=True),
    sa.Column('venue_built', sa.Integer(), nullable=True),
    sa.Column('income_operating', sa.Float(), nullable=True),
    sa.Column('income_net', sa.Float(), nullable=True),
    sa.Column('collective_assets', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('submission_id', 'row_number'),
    postgresql_with={'fillfactor': 50}
    )
    op.create_index('ix_stg_village_annual_unit', 'stg_village_annual', ['unit_code'], unique=False)
    op.create_table('submission',
    sa.Column('submission_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('form_code', sa.String(length=40), nullable=True),
    sa.Column('unit_code', UNIT_CODE, nullable=True),
    sa.Column('period', sa.String(length=8), nullable=True),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_size', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=True),
    sa.Column('rows_accepted', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('archive_path', sa.Text(), nullable=False),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('submission_id'),
    sa.UniqueConstraint('file_sha256'),
    sqlite_autoincrement=True
    )
    op.create_index('ix_submission_period', 'submission', ['period', 'form_code', 'status'], unique=False)
    op.create_index('ix_submission_unit', 'submission', ['unit_code', 'form_code', 'period', 'status'], unique=False)
    op.create_table('unit',
    sa.Column('unit_code', UNIT_CODE, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('level_name', sa.String(length=10), nullable=False),
    sa.Column('parent_code', UNIT_CODE, nullable=True),
    sa.Column('region_code', UNIT_CODE, nullable=True),
    sa.Column('city_code', UNIT_CODE, nullable=True),
    sa.Column('county_code', UNIT_CODE, nullable=True),
    sa.Column('township_code', UNIT_CODE, nullable=True),
    sa.Column('zone_type', sa.String(length=10), nullable=True),
    sa.Column('valid_from', sa.Integer(), nullable=True),
    sa.Column('valid_to', sa.Integer(), nullable=True),
    sa.Column('predecessors', sa.Text(), nullable=True),
    sa.Column('source_file', sa.Text(), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index('ix_unit_county', 'unit', ['county_code'], unique=False)
    op.create_index('ix_unit_parent', 'unit', ['parent_code'], unique=False)
    op.create_index('ix_unit_version', 'unit', ['unit_code', 'valid_from'], unique=True)
    op.create_table('unit_predecessor',
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('unit_code', UNIT_CODE, nullable=False),
    sa.Column('predecessor_code', UNIT_CODE, nullable=False),
    sa.PrimaryKeyConstraint('period', 'unit_code', 'predecessor_code')
    )
    op.create_table('validation_issue',
    sa.Column('issue_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('form_code', sa.String(length=40), nullable=False),
    sa.Column('unit_code', UNIT_CODE, nullable=True),
    sa.Column('sheet', sa.Text(), nullable=True),
    sa.Column('row_number', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=60), nullable=True),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('rule', sa.String(length=120), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('message_zh', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('acted_by', sa.Text(), nullable=True),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('issue_id'),
    sqlite_autoincrement=True
    )
    op.create_index('ix_validation_issue_period', 'validation_issue', ['period', 'form_code', 'state'], unique=False)
    op.create_index('ix_validation_issue_submission', 'validation_issue', ['submission_id', 'row_number'], unique=False)
    op.create_table('validation_issue_event',
    sa.Column('event_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('from_state', sa.String(length=10), nullable=False),
    sa.Column('to_state', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('event_id'),
    sqlite_autoincrement=True
    )
    op.create_index('ix_validation_issue_event_issue', 'validation_issue_event', ['issue_id'], unique=False)


def downgrade() -> None:
    refuse_downgrade(revision)
