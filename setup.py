"""The one thing pyproject.toml cannot say: the loader's optional C extension (src/cakupan/ingest/_nik_hmac.c).

Optional: where no C compiler is at hand, the install goes on without it and the loader hashes NIKs in
DuckDB instead, to the same result (cakupan.ingest.nik_hmac)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("cakupan.ingest._nik_hmac", ["src/cakupan/ingest/_nik_hmac.c"],
                             extra_compile_args=["-O2"], optional=True)])
