"""The calibrated demo data set: village registers and returns that reproduce the seeds.

``generate_demo(landing)`` writes what counties would drop in the landing folder:

* ``register__<county>.csv``: each county's village register (all years), and
* ``<period>/<form>__<county>__<period>.xlsx|csv``: the county's ``village_annual``
  return for all its villages, its ``township_annual`` return for its townships and its
  ``county_annual`` return.

Rolled up, the seeds scale reproduces the published figures of DOMAIN.md exactly
(Inner Mongolia 2014, Dalat Banner 2020/2021, Ganzi 2017, Xixiu 2013/2017). Totals are
spread over villages by exact integer allocation (multinomial draws with bounds), and money
is built in whole yuan, so every sum is exact in 万元. The national scale writes every county
of the country that has a township (2,837 of 2,845) for one period with plausible,
uncalibrated values.

Output is deterministic for a given seed, to the byte (CSV and xlsx alike), and does not
depend on the periods chosen or the number of workers: every county and every calibrated
batch draws from its own random stream, keyed by the seed and the county or batch.

The modules, by what they make: ``draws`` (random streams, exact allocations), ``names``
(village names), ``registers`` (village registers), ``returns`` (the rows of the three
forms), ``files`` (the submission files), ``seeds`` and ``national`` (the two scales),
``generate`` (``generate_demo``) and ``summary`` (``DemoSummary``).
"""

from grassroots.demo.generate import SCALES, generate_demo
from grassroots.demo.national import NATIONAL_DEFAULT_PERIODS
from grassroots.demo.registers import DALAT, GANZI, REGION_IM, XIXIU
from grassroots.demo.seeds import SEED_PERIODS
from grassroots.demo.summary import DemoSummary

__all__ = [
    "DALAT",
    "GANZI",
    "NATIONAL_DEFAULT_PERIODS",
    "REGION_IM",
    "SCALES",
    "SEED_PERIODS",
    "XIXIU",
    "DemoSummary",
    "generate_demo",
]
