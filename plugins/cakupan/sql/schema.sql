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

-- Accepted participant rows, typed. No name and no birth date; NIK only as a keyed hash.
CREATE TABLE IF NOT EXISTS raw.peserta (
    delivery_id bigint NOT NULL,
    kode_cabang text NOT NULL,
    export_date date NOT NULL,
    row_number integer NOT NULL,
    kpj text NOT NULL,
    nik_hash text NOT NULL,
    jenis_kelamin text NOT NULL,
    segmen text NOT NULL,
    program text NOT NULL,
    kode_desa text NOT NULL,
    npp text,
    pekerjaan text NOT NULL,
    sumber_iuran text NOT NULL,
    tanggal_daftar date NOT NULL,
    status text NOT NULL,
    iuran_terakhir date,
    upah bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS peserta_delivery_idx ON raw.peserta (delivery_id);

-- Accepted contribution payments, typed. periode is the first day of the month paid for.
CREATE TABLE IF NOT EXISTS raw.iuran (
    delivery_id bigint NOT NULL,
    kode_cabang text NOT NULL,
    export_date date NOT NULL,
    row_number integer NOT NULL,
    id_transaksi text NOT NULL,
    kpj text NOT NULL,
    periode date NOT NULL,
    program text NOT NULL,
    jumlah bigint NOT NULL,
    tanggal_bayar date NOT NULL,
    sumber_iuran text NOT NULL
);
CREATE INDEX IF NOT EXISTS iuran_delivery_idx ON raw.iuran (delivery_id);
CREATE UNIQUE INDEX IF NOT EXISTS iuran_id_transaksi_idx ON raw.iuran (id_transaksi);

CREATE SEQUENCE IF NOT EXISTS audit.delivery_id_seq;

-- One row per file delivery seen (marts contract: audit.file_loads).
CREATE TABLE IF NOT EXISTS audit.file_loads (
    file_load_id bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL,
    kode_cabang text NOT NULL,
    export_date date,
    file_name text NOT NULL,
    sha256 text,
    status text NOT NULL CHECK (status IN ('loaded', 'rejected', 'duplicate', 'superseded')),
    rows_read bigint NOT NULL DEFAULT 0,
    rows_loaded bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0,
    reason text,
    extra_columns text,
    delivery_fingerprint text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'loaded' OR rows_read = rows_loaded + rows_rejected)
);
CREATE INDEX IF NOT EXISTS file_loads_branch_date_idx ON audit.file_loads (kode_cabang, export_date);
CREATE INDEX IF NOT EXISTS file_loads_fingerprint_idx ON audit.file_loads (delivery_fingerprint);

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

-- Parsers for the contract's text formats (section 2). They return NULL instead of failing, so a bad
-- value becomes a rejected row with a reason rather than an aborted load. Each is a single SQL expression,
-- so PostgreSQL inlines it into the loader's query (a function call costs ~3 us a row, the inlined
-- expression a tenth of that). Text-to-date casts are STABLE, and a function declared more strictly
-- than its body is never inlined: hence STABLE, not IMMUTABLE.
-- DD/MM/YYYY -> YYYY-MM-DD; anything else is left as written.
CREATE OR REPLACE FUNCTION raw.iso_date_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN substr(value, 3, 1) = '/' THEN
               CASE WHEN value ~ '^[0-9]{2}/[0-9]{2}/[0-9]{4}$'
                    THEN substr(value, 7, 4) || '-' || substr(value, 4, 2) || '-' || substr(value, 1, 2)
                    ELSE value END
           ELSE value END
$$;

-- The regex admits only real months and days 01-31; days 29-31 are then checked against the month's
-- length (31 February is NULL, not an error). Nested CASEs fix the order of evaluation.
CREATE OR REPLACE FUNCTION raw.parse_iso_date(iso text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN iso ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' THEN
               CASE WHEN substr(iso, 9, 2) <= '28' THEN iso::date
                    WHEN substr(iso, 9, 2)::int <= ((substr(iso, 1, 7) || '-01')::date + interval '1 month')::date
                                                   - (substr(iso, 1, 7) || '-01')::date
                    THEN iso::date END
           END
$$;

CREATE OR REPLACE FUNCTION raw.parse_contract_date(value text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT raw.parse_iso_date(raw.iso_date_text(value))
$$;

CREATE OR REPLACE FUNCTION raw.parse_contract_period(value text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])$' THEN (value || '-01')::date END
$$;

-- Rupiah: plain digits or `.` as thousands separator (1.500.000); no decimals, no sign.
CREATE OR REPLACE FUNCTION raw.parse_rupiah(value text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value ~ '^([0-9]{1,18}|[0-9]{1,3}(\.[0-9]{3}){1,5})$' THEN replace(value, '.', '')::bigint END
$$;
