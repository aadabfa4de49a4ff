"""dunning: a record of each finished chunk

Revision ID: 5f2c1d9a7e41
Revises: 0799625518d3
Create Date: 2026-11-23 17:20:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '5f2c1d9a7e41'
down_revision = '0799625518d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('batch_chunks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('first_case_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Boolean(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['batch_runs.id'], name=op.f('fk_batch_chunks_run_id_batch_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_chunks')),
    sa.UniqueConstraint('run_id', 'first_case_id', name='uq_batch_chunks_run_id_first_case_id')
    )


def downgrade():
    op.drop_table('batch_chunks')
