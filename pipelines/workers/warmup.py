"""Imported by the first extraction worker only (the last of ``worker.PRELOAD``).

Extraction loads large data lazily on first use: the language model (~70 MB), jusText's
stoplists of every language, the locales and regular expressions of dateparser (which
htmldate calls on pages that state no date).
Loaded here, once, before the other workers are forked from it, the workers share those
pages instead of each loading its own copy (and paying the time). ``gc.freeze()``
keeps the workers' garbage collector from writing to, and so copying, every object
inherited this way.
"""

from __future__ import annotations

import gc

import htmldate.extractors
from justext.core import define_stoplist
from trafilatura.external import jt_stoplist_init

from pipelines.extract import extract_to_dict
from pipelines.extraction.language import detect_language

SAMPLE = """<html><head><title>Warm-up</title></head><body><nav><a href="/">Home</a></nav>
<div class="story"><p>Posted on 3 March 2024 by the news desk.</p>
<p>The city council approved the new flood defence plan on Tuesday after a long debate that
lasted well into the night and drew hundreds of residents to the town hall.</p>
<p>Engineers said the barrier along the river would protect more than four thousand homes
from the kind of flooding that struck the district twice in the last decade.</p></div>
</body></html>"""

define_stoplist(jt_stoplist_init())
detect_language("The city council approved the new flood defence plan on Tuesday evening.")
# A string no language reads as a date: dateparser loads each language's data when it
# first tries it (0.4 s and ~8 MB, in every worker that meets such a page otherwise).
htmldate.extractors.get_external_parser().get_date_data("no date in this line")
extract_to_dict(SAMPLE.encode(), "https://news.example/2024/03/03/flood-plan", {})
gc.freeze()
