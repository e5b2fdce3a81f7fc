{#- The counting rules of contract branch-export-v1, section 5 (docs/contracts/branch-export-v1.md): what the
    marts count, one macro a rule. The incremental machinery that applies them night by night is in
    macros/participant_changes.sql.

    5.2 current snapshot of a branch on D ......... current_branch_snapshot_dates (int_branch_snapshot_dates,
                                                    int_participant_changes, participants_on_snapshot_date)
    5.3 transfers: one row per KPJ ................ participants_on_snapshot_date (int_participants_current)
    5.4 persons counted by NIK (person_key) ....... persons_placed (int_persons_covered, int_persons_replaced;
                                                    int_village_person_counts counts them per village)
    5.5 covered person and their village .......... persons_placed
    5.6 coverage rate ............................. coverage_rate (coverage_district, coverage_province)
    5.7 vulnerable workers and the village target . vulnerable_funding_sources (contract section 3) here;
                                                    the target is vulnerable_target() (macros/run_parameters.sql)
    award-v2 4: an employer's workers and CSR aid .. employer_participations (int_employer_person_participations)
-#}

{#- Funding sources that make a BPU participant a vulnerable worker (contract section 3). -#}
{% macro vulnerable_funding_sources() -%}
    ('APBN', 'APBD', 'APBDES', 'DBH_SAWIT', 'CSR', 'BAZNAS')
{%- endmacro %}

{#- Each branch's current snapshot on D: its delivery, and its export date as the transfer rule ranks them
    (contract 5.2). -#}
{% macro current_branch_snapshot_dates() %}
    select branch_code, delivery_id, valid_from as export_date
    from {{ ref('int_delivery_validity') }}
    where valid_from <= {{ snapshot_date() }}
      and (valid_until is null or valid_until > {{ snapshot_date() }})
{% endmacro %}

{#- The participants on D: every KPJ once, from the current snapshots of all branches (contract 5.2-5.3), or
    only the KPJs that `kpjs` (a query) selects. A KPJ in several current snapshots was transferred: the
    latest export_date wins, then the branch code that sorts first. `branches` counts the snapshots holding
    the KPJ, so that a night finds the transferred ones without reading them all. No column may change when
    the participant does not: not the snapshot's export date, which moves each night. -#}
{% macro participants_on_snapshot_date(kpjs=none) %}
    with branch_rows as (
        select * from {{ ref('int_branch_participants') }}
        {% if kpjs %}where kpj = any(array({{ kpjs }})){% endif %}
    ),

    current_snapshots as ({{ current_branch_snapshot_dates() }}),

    candidates as (
        select
            branch_rows.*,
            current_snapshots.export_date,
            count(*) over (partition by branch_rows.kpj) as branches
        from branch_rows
        join current_snapshots using (branch_code)
    )

    select distinct on (kpj)
        kpj,
        person_key,
        branch_code,
        segment,
        funding_source,
        occupation,
        village_code,
        registered_on,
        status,
        nik_district_code,
        employer_npp,
        has_full_program,
        csr_employer_npp,
        segment = 'BPU' and funding_source in {{ vulnerable_funding_sources() }} as is_vulnerable_worker,
        branches::integer as branches
    from candidates
    order by kpj, export_date desc, branch_code
{% endmacro %}

{#- Each person with an AKTIF KPJ among `participants` (a query giving at least int_participants_current's
    person_key, kpj, village_code, is_vulnerable_worker, registered_on, status and nik_district_code), placed by
    their AKTIF KPJ registered last (tie: the smallest KPJ), which also decides whether the person counts as a
    vulnerable worker (contract 5.4-5.5); the NIK's district goes with it (every KPJ of a person has the same). -#}
{% macro persons_placed(participants) %}
    select distinct on (person_key)
        person_key,
        kpj as placing_kpj,
        village_code,
        is_vulnerable_worker,
        nik_district_code
    from ({{ participants }}) participants
    where status = 'AKTIF'
    order by person_key, registered_on desc, kpj
{% endmacro %}

{#- The participations the award's employer level counts (award-v2.md section 4), among `participants` (a query
    giving int_participants_current's columns): one row per AKTIF KPJ, with the employer it counts for and as
    what: 'own', a PU or JAKON participation of the employer's own worker (npp), or 'csr_aid', a vulnerable
    worker's participation whose contribution the employer pays as CSR (npp_pemberi_bantuan). -#}
{% macro employer_participations(participants) %}
    select employer_npp as npp, person_key, 'own' as counted_as, has_full_program
    from ({{ participants }}) as own
    where status = 'AKTIF' and segment in ('PU', 'JAKON') and employer_npp is not null
    union all
    select csr_employer_npp as npp, person_key, 'csr_aid' as counted_as, has_full_program
    from ({{ participants }}) as aided
    where status = 'AKTIF' and is_vulnerable_worker and funding_source = 'CSR' and csr_employer_npp is not null
{% endmacro %}

{#- Coverage rate (contract 5.6): covered persons over employed population, a fraction; null where the
    employed population is unknown or zero. One definition for districts and provinces. -#}
{% macro coverage_rate(covered_persons, employed_population) -%}
    {{ covered_persons }}::numeric / nullif({{ employed_population }}, 0)
{%- endmacro %}
