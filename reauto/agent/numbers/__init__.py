"""Spoken numbers, money and durations as a phone recogniser writes them.

Input is lower-case words without punctuation ("four hundred thousand", "about three months"),
sometimes digits ("400k", "$400,000"). Every parser returns ``None`` when it finds nothing and
never raises on any string.

A sentence is read in three steps:

1. :func:`~reauto.agent.numbers.words.spoken_digits` turns number words into digits. text2num's
   ``alpha2digit`` does the cardinal arithmetic ("six hundred and twenty five thousand" → 625000)
   and the ordinals that dates need ("the twenty seventh" → 27th), which the word grammar reauto
   had before did not read. Measured on the 40 budget amounts of tests/test_numbers.py
   (``CARDINALS``): ``alpha2digit`` alone reads 26, that grammar 36, ``alpha2digit`` with the code
   here 40. All 14 it misses alone are the ways people shorten amounts, which the code here reads:
   rewrites before it runs where it would lose what was said ("a million two" → it says 1000002,
   a person means 1.2 million; "the mid fours" → it drops the plural that makes the words a price
   band; "three fifty and four hundred" → it says 3 5400; "the one on elm" is a pronoun), and
   step 2 after.
2. The digit tokens are grouped into amounts (:class:`~reauto.agent.numbers.amounts.Amount`) the
   way people say them and text2num does not: "4 50" ("four fifty" → 450), "1.2 1000000",
   "half a 1000000", "a 1000000 and a half", "400 k", "$450k".
3. Amounts are classed by the words beside them. A unit of time makes a duration ("four months"),
   "a month" / "per month" / "in rent" a monthly amount, bedrooms, percent, minutes or a credit
   score something else; only what is left can be a price, and a price said without its size
   ("four fifty", "around six") only where a budget was asked, at the size of a house.

The three steps are :mod:`.words`, :mod:`.amounts` and :mod:`.kinds`. On them :mod:`.money` reads
budgets and monthly amounts (``parse_money_usd``, ``parse_monthly_usd``) and :mod:`.durations`
timelines (``parse_duration``), with the calendar dates of :mod:`.dates` and the holidays and
school year of :mod:`.events`.
"""
