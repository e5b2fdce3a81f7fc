-- Warehouse tables written by Python (reference loader and branch-export loader).
-- dbt owns everything else (staging, intermediate, marts). Idempotent: safe to run on every start.

CREATE SCHEMA IF NOT EXISTS reference;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS audit;

-- Region hierarchy from idn-area-data (Kepmendagri codes). Package naming differs from ours:
-- its "regencies" are our districts (kabupaten/kota), its "districts" are our subdistricts (kecamatan).
CREATE TABLE IF NOT EXISTS reference.provinces (
    province_code text PRIMARY KEY,
    province_name text NOT NULL
);
CREATE TABLE IF NOT EXISTS reference.districts (
    district_code text PRIMARY KEY,
    province_code text NOT NULL,
    district_name text NOT NULL
);
CREATE TABLE IF NOT EXISTS reference.subdistricts (
    subdistrict_code text PRIMARY KEY,
    district_code text NOT NULL,
    subdistrict_name text NOT NULL
);
CREATE TABLE IF NOT EXISTS reference.villages (
    village_code text PRIMARY KEY,
    subdistrict_code text NOT NULL,
    village_name text NOT NULL
);
-- kantor_cabang.csv, one row per branch, and its served districts exploded one per row.
CREATE TABLE IF NOT EXISTS reference.branches (
    kode_cabang text PRIMARY KEY,
    nama_cabang text NOT NULL,
    kanwil text NOT NULL
);
CREATE TABLE IF NOT EXISTS reference.branch_districts (
    kode_cabang text NOT NULL,
    district_code text NOT NULL,
    PRIMARY KEY (kode_cabang, district_code)
);
-- penduduk_bekerja.csv (BPS Sakernas, August).
CREATE TABLE IF NOT EXISTS reference.employed_population (
    district_code text NOT NULL,
    year integer NOT NULL,
    employed_population bigint NOT NULL,
    PRIMARY KEY (district_code, year)
);
-- pemberi_kerja.csv (award-v2.md section 2): the employers of the award's business category. Optional: empty
-- when the reference has no such file.
CREATE TABLE IF NOT EXISTS reference.employers (
    npp text PRIMARY KEY,
    employer_name text NOT NULL,
    district_code text NOT NULL,
    size_code text NOT NULL,
    workforce bigint NOT NULL CHECK (workforce >= 0)
);
-- What was loaded, so a re-run with the same inputs can skip the work.
CREATE TABLE IF NOT EXISTS reference.sources (
    source text PRIMARY KEY,
    sha256 text NOT NULL,
    rows_loaded bigint NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- One accepted delivery per (branch, export date): the newer accepted delivery replaces the older.
-- A branch's snapshot on date D is its delivery with the latest export_date <= D (contract section 5.2).
CREATE TABLE IF NOT EXISTS raw.deliveries (
    delivery_id bigint PRIMARY KEY,
    kode_cabang text NOT NULL,
    export_date date NOT NULL,
    content_sha256 text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kode_cabang, export_date)
);
-- Set when the delivery passed the raw quality gate. dbt reads only such deliveries, so a delivery that
-- failed the gate keeps failing every night's gate (and stays out of the marts) until it is replaced.
ALTER TABLE raw.deliveries ADD COLUMN IF NOT EXISTS raw_gate_passed_at timestamptz;
-- The deliveries still to pass the raw gate: the rows the raw suites of expectations/ check.
-- The branch's previous delivery that the loader compared this one's participants with (raw.peserta_changes);
-- NULL for a branch's first delivery, and for deliveries loaded before the comparison existed.
ALTER TABLE raw.deliveries ADD COLUMN IF NOT EXISTS participants_compared_with bigint;
-- The night whose raw gate is running, a row only while it runs (gate_log.raw_gate_of_night): night D gates
-- only the deliveries dated D or earlier (contract branch-export-v1 section 7.6); a later one waits for its own
-- night instead of failing every earlier one. Without a row (a checkpoint run by hand, the benchmarks) every
-- delivery awaiting the gate is checked.
CREATE TABLE IF NOT EXISTS audit.raw_gate_night (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    snapshot_date date NOT NULL,
    run_id text,
    opened_at timestamptz NOT NULL DEFAULT now()
);
CREATE OR REPLACE VIEW raw.deliveries_awaiting_raw_gate AS
SELECT delivery_id, kode_cabang, export_date FROM raw.deliveries
WHERE raw_gate_passed_at IS NULL
  AND export_date <= coalesce((SELECT snapshot_date FROM audit.raw_gate_night), 'infinity'::date);
-- The digest of the row checks (suite raw_peserta) a delivery passed the raw gate under, and those the
-- running gate applies (gate_log): a delivery whose previous delivery passed the same checks is checked by its
-- changes alone (raw.peserta_awaiting_raw_gate).
ALTER TABLE raw.deliveries ADD COLUMN IF NOT EXISTS raw_gate_row_checks text;
ALTER TABLE audit.raw_gate_night ADD COLUMN IF NOT EXISTS row_checks text;
-- The delivery's participant rows, and of them the active and the active BPU ones, counted once as it is
-- loaded (participant_changes): the counts of the delivery it was compared with plus its changes, or counted
-- whole where there is none. The raw gate's distribution check compares these instead of counting two
-- snapshots again (docs/decisions.md, change 27). NULL for deliveries loaded before they were recorded.
ALTER TABLE raw.deliveries ADD COLUMN IF NOT EXISTS participant_rows bigint,
    ADD COLUMN IF NOT EXISTS active_participants bigint, ADD COLUMN IF NOT EXISTS active_bpu_participants bigint;

-- Accepted participant rows, typed. No name and no birth date; NIK only as a keyed hash.
CREATE TABLE IF NOT EXISTS raw.peserta (
    delivery_id bigint NOT NULL,
    row_number integer NOT NULL,
    kpj text NOT NULL,
    nik_hash text NOT NULL,
    segmen text NOT NULL,
    kode_desa text NOT NULL,
    pekerjaan text NOT NULL,
    sumber_iuran text NOT NULL,
    tanggal_daftar date NOT NULL,
    status text NOT NULL
);
-- Only what the numbers need: the branch and export date live in raw.deliveries, and the columns no
-- number reads (sex, the programmes as written, last period paid, wage) are checked by the row rules but not
-- kept. Warehouses made before this lose them here; dbt rebuilds the staging views that read them.
ALTER TABLE raw.peserta DROP COLUMN IF EXISTS kode_cabang CASCADE, DROP COLUMN IF EXISTS export_date CASCADE,
    DROP COLUMN IF EXISTS jenis_kelamin CASCADE, DROP COLUMN IF EXISTS program CASCADE,
    DROP COLUMN IF EXISTS iuran_terakhir CASCADE, DROP COLUMN IF EXISTS upah CASCADE;
-- The district that issued the NIK (its first four digits as PP.KK, never more: docs/data-handling.md) and,
-- from export v1.1, the employer paying a CSR contribution (award-v2.md sections 1 and 3). Rows loaded
-- before these existed have them NULL.
ALTER TABLE raw.peserta ADD COLUMN IF NOT EXISTS nik_district text,
    ADD COLUMN IF NOT EXISTS npp_pemberi_bantuan text;
-- The employer (NPP) of a PU or JAKON participation, and whether its programmes hold JKK, JKM, JHT and JP: what
-- the award's employer level counts (award-v2.md section 4). Rows loaded before have them NULL.
ALTER TABLE raw.peserta ADD COLUMN IF NOT EXISTS npp text, ADD COLUMN IF NOT EXISTS full_program boolean;
-- BRIN, not B-tree: a delivery's rows are appended together, and keeping a B-tree up to date slowed the
-- loader's COPY (docs/decisions.md, smaller measures).
DROP INDEX IF EXISTS raw.peserta_delivery_idx;
CREATE INDEX IF NOT EXISTS peserta_delivery_brin ON raw.peserta USING brin (delivery_id);

-- How each delivery's participants differ from the branch's previous delivery (the latest earlier export
-- date), found as the delivery is loaded: a row per KPJ added, removed or changed in a stored column, with
-- its new values and its previous person. dbt's participants layer applies these instead of diffing the whole
-- night, for each branch whose layer rows are exactly that previous delivery (int_participant_changes).
CREATE TABLE IF NOT EXISTS raw.peserta_changes (
    delivery_id bigint NOT NULL,
    previous_delivery_id bigint NOT NULL,
    kpj text NOT NULL,
    change text NOT NULL CHECK (change IN ('added', 'removed', 'changed')),
    previous_nik_hash text,
    nik_hash text,
    segmen text,
    kode_desa text,
    pekerjaan text,
    sumber_iuran text,
    tanggal_daftar date,
    status text
);
-- The columns raw.peserta gained for award-v2, compared as the others (participant_changes.COMPARED).
ALTER TABLE raw.peserta_changes ADD COLUMN IF NOT EXISTS nik_district text,
    ADD COLUMN IF NOT EXISTS npp_pemberi_bantuan text, ADD COLUMN IF NOT EXISTS npp text,
    ADD COLUMN IF NOT EXISTS full_program boolean;
-- A changed or removed row's status and segment before, which the delivery's recorded counts are moved by.
ALTER TABLE raw.peserta_changes ADD COLUMN IF NOT EXISTS previous_status text,
    ADD COLUMN IF NOT EXISTS previous_segmen text;
CREATE INDEX IF NOT EXISTS peserta_changes_delivery_idx ON raw.peserta_changes (delivery_id);
-- The loader finds a delivery's rows through raw.peserta's BRIN index, which leaves the pages loaded since
-- autovacuum last ran unsummarised: every lookup would read all of them. It summarises them first, which only
-- the index's owner may do; hence a function that runs as its owner, for the loader alone.
CREATE OR REPLACE FUNCTION raw.summarize_new_peserta_ranges() RETURNS integer
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT brin_summarize_new_values('raw.peserta_delivery_brin') $$;
REVOKE ALL ON FUNCTION raw.summarize_new_peserta_ranges() FROM PUBLIC;
DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cakupan_loader') THEN  -- roles.py's loader role
        GRANT EXECUTE ON FUNCTION raw.summarize_new_peserta_ranges() TO cakupan_loader;
    END IF;
END $$;

-- Accepted contribution payments, typed. periode is the first day of the month paid for.
CREATE TABLE IF NOT EXISTS raw.iuran (
    delivery_id bigint NOT NULL,
    row_number integer NOT NULL,
    id_transaksi text NOT NULL,
    kpj text NOT NULL,
    periode date NOT NULL,
    program text NOT NULL,
    jumlah bigint NOT NULL,
    tanggal_bayar date NOT NULL,
    sumber_iuran text NOT NULL
);
ALTER TABLE raw.iuran DROP COLUMN IF EXISTS kode_cabang CASCADE, DROP COLUMN IF EXISTS export_date CASCADE;
CREATE INDEX IF NOT EXISTS iuran_delivery_idx ON raw.iuran (delivery_id);
CREATE UNIQUE INDEX IF NOT EXISTS iuran_id_transaksi_idx ON raw.iuran (id_transaksi);

-- The night's rows the raw suites check (expectations/), as views so that GX learns their columns from the
-- catalogue instead of running a query whole. `= ANY (ARRAY(...))`, not `IN (SELECT ...)`: the array lets
-- PostgreSQL read only those deliveries' blocks through the index on delivery_id, where IN joined against
-- a scan of every snapshot raw keeps (each GX metric re-reads the rows).
--
-- A row check reads one row's values, so a row unchanged since a delivery that passed the same checks passes
-- them again: a delivery whose previous delivery (participants_compared_with) passed the raw gate under the
-- row checks now running is checked by the rows it added or changed, as raw.peserta_changes holds them (every
-- column a row check reads is compared). The proof and its test: docs/decisions.md, change 26;
-- tests/gates/test_raw_gate_by_changes.py. Any other delivery is checked row by row. (NOT IN, not EXCEPT: with
-- EXCEPT under the UNION, PostgreSQL 18 no longer scanned the rows in parallel, and a whole night took twice as long.)
CREATE OR REPLACE VIEW raw.deliveries_checked_by_changes AS
SELECT awaiting.delivery_id
FROM raw.deliveries_awaiting_raw_gate awaiting
JOIN raw.deliveries delivered ON delivered.delivery_id = awaiting.delivery_id
JOIN raw.deliveries previous ON previous.delivery_id = delivered.participants_compared_with
WHERE previous.raw_gate_passed_at IS NOT NULL
  AND previous.raw_gate_row_checks = (SELECT row_checks FROM audit.raw_gate_night);
CREATE OR REPLACE VIEW raw.peserta_awaiting_raw_gate AS
SELECT delivery_id, row_number, kpj, nik_hash, segmen, kode_desa, pekerjaan, sumber_iuran, tanggal_daftar, status
FROM raw.peserta
WHERE delivery_id = ANY (ARRAY(SELECT delivery_id FROM raw.deliveries_awaiting_raw_gate
                               WHERE delivery_id NOT IN (SELECT delivery_id FROM raw.deliveries_checked_by_changes)))
UNION ALL
SELECT delivery_id, NULL::integer, kpj, nik_hash, segmen, kode_desa, pekerjaan, sumber_iuran, tanggal_daftar, status
FROM raw.peserta_changes
WHERE change <> 'removed' AND delivery_id = ANY (ARRAY(SELECT delivery_id FROM raw.deliveries_checked_by_changes));
-- What the checks of the whole delivery read (how many distinct NIKs): every row, changed or not.
CREATE OR REPLACE VIEW raw.peserta_nik_awaiting_raw_gate AS
SELECT delivery_id, nik_hash
FROM raw.peserta
WHERE delivery_id = ANY (ARRAY(SELECT delivery_id FROM raw.deliveries_awaiting_raw_gate));
CREATE OR REPLACE VIEW raw.iuran_awaiting_raw_gate AS
SELECT delivery_id, row_number, id_transaksi, kpj, periode, program, jumlah, tanggal_bayar, sumber_iuran
FROM raw.iuran
WHERE delivery_id = ANY (ARRAY(SELECT delivery_id FROM raw.deliveries_awaiting_raw_gate));

CREATE SEQUENCE IF NOT EXISTS audit.delivery_id_seq;

-- One row per file delivery seen (marts contract: audit.file_loads).
CREATE TABLE IF NOT EXISTS audit.file_loads (
    file_load_id bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL,
    kode_cabang text NOT NULL,
    export_date date,
    file_name text NOT NULL,
    sha256 text,
    status text NOT NULL CHECK (status IN ('loaded', 'rejected', 'duplicate', 'superseded', 'withdrawn')),
    rows_read bigint NOT NULL DEFAULT 0,
    rows_loaded bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0,
    reason text,
    extra_columns text,
    delivery_fingerprint text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'loaded' OR rows_read = rows_loaded + rows_rejected)
);
-- The row count the manifest promised (loaded files), reconciled by the raw gate (expectations/raw_accounting.yml).
ALTER TABLE audit.file_loads ADD COLUMN IF NOT EXISTS manifest_rows bigint;
CREATE INDEX IF NOT EXISTS file_loads_branch_date_idx ON audit.file_loads (kode_cabang, export_date);
CREATE INDEX IF NOT EXISTS file_loads_fingerprint_idx ON audit.file_loads (delivery_fingerprint);
-- 'withdrawn': an accepted delivery taken back by `cakupan delivery withdraw` (src/cakupan/withdrawal.py);
-- a warehouse made before that status existed gets it here.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = 'audit.file_loads'::regclass
                   AND conname = 'file_loads_status_check' AND pg_get_constraintdef(oid) LIKE '%withdrawn%') THEN
        ALTER TABLE audit.file_loads DROP CONSTRAINT IF EXISTS file_loads_status_check;
        ALTER TABLE audit.file_loads ADD CONSTRAINT file_loads_status_check
            CHECK (status IN ('loaded', 'rejected', 'duplicate', 'superseded', 'withdrawn'));
    END IF;
END $$;
-- Every withdrawal: which delivery, who took it back, when and why. Its file_loads rows stay, 'withdrawn'.
CREATE TABLE IF NOT EXISTS audit.withdrawals (
    withdrawal_id bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL,
    kode_cabang text NOT NULL,
    export_date date NOT NULL,
    files text[] NOT NULL DEFAULT '{}',
    reason text,
    withdrawn_by text NOT NULL,
    database_user text NOT NULL DEFAULT current_user,
    withdrawn_at timestamptz NOT NULL DEFAULT now()
);

-- One row per rejected row (marts contract: audit.rejected_rows). Keeps what the branch needs to
-- find the row (row number, KPJ as written), never the person's name, NIK or birth date.
CREATE TABLE IF NOT EXISTS audit.rejected_rows (
    delivery_id bigint NOT NULL,
    kode_cabang text NOT NULL,
    export_date date NOT NULL,
    file_name text NOT NULL,
    row_number integer NOT NULL,
    kpj text,
    column_name text NOT NULL,
    rule text NOT NULL,
    reason text NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_rows_delivery_idx ON audit.rejected_rows (delivery_id);

-- Every gate the night passed or failed (raw and marts checkpoints, dbt's tests), for the audit trail
-- and the docs site. `failures` lists what failed, never a personal value.
CREATE TABLE IF NOT EXISTS audit.gate_results (
    gate_result_id bigserial PRIMARY KEY,
    snapshot_date date NOT NULL,
    gate text NOT NULL,
    run_id text,
    passed boolean NOT NULL,
    checks integer NOT NULL DEFAULT 0,
    failures text[] NOT NULL DEFAULT '{}',
    warnings text[] NOT NULL DEFAULT '{}',
    checked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS gate_results_date_idx ON audit.gate_results (snapshot_date, gate);

-- The Paritrana Award rubric in force (award/rubric.yml, loaded by cakupan.award_rubric before dbt builds).
CREATE TABLE IF NOT EXISTS reference.award_rubric (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version text NOT NULL,
    rubric jsonb NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- The night the candidate marts were built for (one row): the marts suites of expectations/ check its rows.
CREATE TABLE IF NOT EXISTS audit.marts_candidate (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    snapshot_date date NOT NULL,
    prepared_at timestamptz NOT NULL DEFAULT now()
);
-- The run that prepared it: publication.publish publishes only its own run's candidate.
ALTER TABLE audit.marts_candidate ADD COLUMN IF NOT EXISTS run_id text;

-- The night lease (src/cakupan/night_lease.py): the one night that may write, from finding its exports to
-- publishing (contract branch-export-v1 section 7.7). A row while a night runs; the night's tasks keep
-- heartbeat_at fresh, and a row silent for longer than the module's bound is an abandoned night (a killed
-- process, a rebooted machine) that the next night takes over.
CREATE TABLE IF NOT EXISTS audit.night_lease (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    lease_id uuid NOT NULL,
    run_id text NOT NULL,
    snapshot_date date NOT NULL,
    holder text NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cakupan_transformer') THEN  -- roles.py's transformer role
        -- publish_marts confirms the lease inside the publication's transaction, keeping the row locked until it commits.
        GRANT SELECT, UPDATE (heartbeat_at) ON audit.night_lease TO cakupan_transformer;
    END IF;
END $$;

-- The fingerprint of the reference layer (dbt's staging views of `reference` and their tests) as the last
-- build that built and tested it left it, and passed: a night with the same fingerprint leaves the layer as
-- it is (src/cakupan/reference_layer.py).
CREATE TABLE IF NOT EXISTS audit.reference_layer_builds (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    fingerprint text NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
);

-- Each time checked marts were published for BI tools and the docs site (src/cakupan/publish/publication.py).
CREATE TABLE IF NOT EXISTS audit.publications (
    publication_id bigserial PRIMARY KEY,
    snapshot_date date NOT NULL,
    run_id text,
    published_at timestamptz NOT NULL DEFAULT now()
);

-- The dbt build that last wrote each model of the participants layer, and the rules it was built by
-- (dbt_project/macros/participant_changes.sql): a night applies its changes only when one build by the rules
-- in force wrote them all, else it rebuilds the layer. Written in the model's own transaction. A row here,
-- not a comment on the model's table: COMMENT ON TABLE waits for an autovacuum of that table to be cancelled
-- after deadlock_timeout, and a vacuum cancelled every night never finishes (docs/decisions.md, change 13).
-- Unlogged like the layer's tables (dbt_project.yml): after a crash PostgreSQL empties both together, and the
-- next night rebuilds the layer instead of applying its changes to empty tables.
CREATE UNLOGGED TABLE IF NOT EXISTS audit.participants_layer_builds (
    model text PRIMARY KEY,
    build text NOT NULL,
    rules text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);
DO $$
BEGIN
    -- Made before it was unlogged; altered only then, as the statement locks the table out even when a no-op.
    IF (SELECT relpersistence FROM pg_class WHERE oid = 'audit.participants_layer_builds'::regclass) = 'p' THEN
        ALTER TABLE audit.participants_layer_builds SET UNLOGGED;
    END IF;
END $$;

-- The committee's sign-off of an award year (`cakupan award finalise`, src/cakupan/transform/award_finalisation.py):
-- one row a finalisation, the earlier kept with superseded_at set when the year is finalised again. The award
-- marts take a finalised year's rows from award_finalised_rows instead of scoring it again (dbt macro
-- award_keep_finalised), so no later night, backfill or rubric changes them. Here, outside the schemas dbt
-- rebuilds; marts.award_finalisations shows the records to BI tools.
CREATE TABLE IF NOT EXISTS audit.award_finalisations (
    finalisation_id bigserial PRIMARY KEY,
    year integer NOT NULL,
    rubric_version text,
    snapshot_date date NOT NULL,
    finalised_by text NOT NULL,
    finalised_at timestamptz NOT NULL DEFAULT now(),
    -- md5 of the year's award rows (award_finalisation.digest), to check a published row against the sign-off.
    digest text NOT NULL,
    superseded_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS award_finalisations_in_force ON audit.award_finalisations (year)
    WHERE superseded_at IS NULL;
-- Every award row of a finalised year as it was signed off, each level's row whole as JSON (every column, so a
-- column the marts gain later is simply missing from an older year's rows).
CREATE TABLE IF NOT EXISTS audit.award_finalised_rows (
    finalisation_id bigint NOT NULL REFERENCES audit.award_finalisations,
    level text NOT NULL,
    award_row jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS award_finalised_rows_of ON audit.award_finalised_rows (finalisation_id, level);
DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cakupan_transformer') THEN  -- roles.py's transformer role
        -- The transformer finalises (in the same transaction as its reading of the marts) and dbt reads them.
        GRANT SELECT, INSERT, UPDATE ON audit.award_finalisations, audit.award_finalised_rows TO cakupan_transformer;
        GRANT USAGE ON SEQUENCE audit.award_finalisations_finalisation_id_seq TO cakupan_transformer;
    END IF;
END $$;
