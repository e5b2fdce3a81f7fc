-- The committee's sign-offs of award years (`cakupan award finalise`), for BI tools: the transformer keeps them in
-- audit, outside the schemas dbt rebuilds, and the command publishes this mart at once.
select
    year,
    rubric_version,
    snapshot_date,
    finalised_by,
    finalised_at,
    digest,
    superseded_at
from {{ source('award_sign_off', 'award_finalisations') }}
