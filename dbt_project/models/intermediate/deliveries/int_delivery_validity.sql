-- When each accepted delivery is a branch's current snapshot: from its export_date until the branch's
-- next accepted delivery (contract 5.2). A late or rejected branch simply has no newer delivery, so its
-- previous snapshot stays current.
select
    delivery_id,
    branch_code,
    export_date as valid_from,
    lead(export_date) over (partition by branch_code order by export_date) as valid_until
from {{ ref('stg_raw__deliveries') }}
