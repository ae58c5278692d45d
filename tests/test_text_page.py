"""Plain-text page extraction: the seed pages and pages of other layouts.

Each case states the headline, date, authors, agency and language, the first and last
body sentences, boilerplate that must not reach the body, and a hand-made reference
body the extracted text must match (word 4-gram precision and recall >= 0.95).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipelines.extraction.bylines import detect_agency, parse_byline
from pipelines.extraction.normalize import clean_text, words
from pipelines.extraction.text_page import extract_text_page

SEEDS = Path(__file__).parents[1] / "seeds"
SEED_BODIES = Path(__file__).parent / "data" / "seed_bodies"
MIN_PRECISION = MIN_RECALL = 0.95


@dataclass(frozen=True)
class Case:
    title: str
    published_at: str | None
    authors: list[str]
    agency: str | None
    first: str  # first body sentence
    last: str  # last body sentence
    boilerplate: tuple[str, ...]
    once: tuple[str, ...] = ()  # text printed twice on the page, once in the body
    language: str = "hi"
    body: list[str] = field(default_factory=list)  # reference paragraphs (synthetic pages)


def four_grams(text: str) -> Counter[tuple[str, ...]]:
    tokens = words(text)
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def precision_recall(extracted: str, reference: str) -> tuple[float, float]:
    got, want = four_grams(extracted), four_grams(reference)
    common = sum((got & want).values())
    return common / max(sum(got.values()), 1), common / max(sum(want.values()), 1)


def check(page: str, url: str, case: Case, reference: str) -> None:
    result = extract_text_page(page, url)
    assert result.title == case.title
    assert result.published_at == case.published_at
    assert result.authors == case.authors
    assert result.agency == case.agency
    assert result.language == case.language
    assert result.extractor == "text-page/2"
    assert result.text.startswith(case.first)
    assert result.text.endswith(case.last)
    for snippet in case.boilerplate:
        assert snippet not in result.text, snippet
    for snippet in case.once:
        assert result.text.count(snippet) == 1, snippet
    paragraphs = result.text.split("\n\n")
    assert all(p == clean_text(p) and "\n" not in p for p in paragraphs)
    precision, recall = precision_recall(result.text, reference)
    assert precision >= MIN_PRECISION, precision
    assert recall >= MIN_RECALL, recall
    assert result.provenance["title"].startswith("text:")
    assert ("published_at" in result.provenance) == (case.published_at is not None)
    assert ("authors" in result.provenance) == bool(case.authors)


SEED_CASES = {
    "000_71f9cd5c18e7392c": Case(
        title="रूस को मिला उत्तर कोरिया का साथ, किम जोंग ने किया बिना शर्त समर्थन देने का ऐलान",
        published_at="2025-06-06T07:26:00+05:30",
        authors=[],  # the byline credits the agency only: no writer is named
        agency="IANS",
        first="उत्तर कोरिया के नेता किम जोंग-उन ने कहा है कि वह यूक्रेन के खिलाफ युद्ध में रूस को",
        last="मदद के लिए रूस को अपने सैनिक भेजे थे।",
        boilerplate=(
            "Top News", "Delhi NCR", "Bollywood Kesari", "Advertisement", "Next Article",
            "07:26 AM", "IANS", "अब यूक्रेन में मचेगी तबाही", "रूस को मिला उत्तर कोरिया का साथ",
            "उत्तर कोरिया और रूस रक्षा संधि के तहत सभी नियमों को निभाएगा",
        ),
        # the summary paragraph that repeats sentences of the body is dropped
        once=("उसके सभी नियमों को “जिम्मेदारी से” निभाया जाएगा।",),
    ),
    "001_dbe0a019a329728a": Case(
        title="प्योंगयांग हमेशा मास्को के साथ रहेगा- किम जोंग-उन",
        published_at=None,
        authors=[],  # "Credit by RT News" credits the feed the copy came from
        agency="RT News",
        first="राज्य संचालित केसीएनए समाचार एजेंसी के अनुसार, उत्तर कोरियाई नेता किम जोंग-उन",
        last="देश की छवि खराब करने की कोशिश बताया है.",
        boilerplate=(
            "#INA", "Credit by", "RT News", "This post was first published", "RSS feed",
            "प्योंगयांग हमेशा मास्को के साथ रहेगा-",
        ),
    ),
    "002_9c510a5b21a12fa2": Case(
        title=(
            "रूस को बिना शर्त दी जाएगी हर मदद, यूक्रेन के खिलाफ जंग में सैनिकों के मारे जाने"
            " के बाद भी पीछे हटने को तैयार नहीं किम जोंग"
        ),
        published_at=None,  # "14 July 2025" belongs to a teaser of another story
        authors=["Aarti Kushwaha"],
        agency=None,
        first="Russia Ukraine War: उत्तर कोरिया और रूस के संबंधों में लगातार नजदिकियां",
        last="उत्तर कोरिया के बाद चीन के लिए रवाना होने की खबर है.",
        boilerplate=(
            "Aarti Kushwaha", "Reporter The Printlines", "Must Read", "इसे भी पढें",
            "खैबर पख्तूनख्वा", "Latest News", "Aaj Ka Rashifal", "14 July 2025",
            "More Articles Like This",
        ),
        once=("सैनिकों की मौत के बाद भी किम की जिद्द",),  # a subheading stays
    ),
    "003_1e3141995383dc93": Case(
        title=(
            "पुतिन और किम जोंग उन के बीच समझौता, हमले के समय एक दूसरे की सहायता करेंगे रूस"
            " और उत्तर कोरिया"
        ),
        published_at="2024-06-19T17:34:00+05:30",
        authors=["शिवेन्द्र कुमार राय"],
        agency=None,
        first="नई दिल्ली: रूसी राष्ट्रपति व्लादिमीर पुतिन और उत्तर कोरियाई नेता किम जोंग उन",
        last="पुतिन को लाल गुलाब का गुलदस्ता भेंट किया गया।",
        boilerplate=(
            "By ", "Published", "2024-06-19", "partnership deal", "Highlights", "Web Title",
            "यूट्यूब चैनल", "Facebook Page", "क्लिक करे", "एक दूसरे की सहायता करेंगे",
        ),
        once=(
            "रूसी राज्य समाचार एजेंसियों के अनुसार पुतिन ने कहा",
            "बीते 24 वर्षों में यह पुतिन की पहली कोरिया यात्रा है",
        ),
    ),
    "004_67527859dcb3fa44": Case(
        title=(
            "अलास्का शिखर सम्मेलन से पहले पुतिन के साथ फोन पर बातचीत में किम ने रूस के लिए"
            " ‘पूर्ण समर्थन’ जताया"
        ),
        published_at=None,
        authors=[],
        agency="IANS",
        first="सियोल । उत्तर कोरिया के नेता किम जोंग-उन ने रूस के राष्ट्रपति व्लादिमीर पुतिन",
        last="5,000 सैन्य निर्माणकर्मी और 1,000 सैपर भेजेगा।",
        boilerplate=(
            "आईएएनएस", "admin", "Read Previous", "Read Next", "WP2Social", "टैमी ब्रूस",
            "हूती", "शिवराज सिंह चौहान", "तुर्की में 6.1", "रेपो रेट", "अमेरिका-पाकिस्तान",
            "...",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(SEED_CASES))
def test_seed(name: str) -> None:
    page = (SEEDS / f"{name}.txt").read_text(encoding="utf-8")
    reference = (SEED_BODIES / f"{name}.txt").read_text(encoding="utf-8")
    check(page, f"https://example.org/{name}", SEED_CASES[name], reference)


def test_seed_provenance() -> None:
    page = (SEEDS / "000_71f9cd5c18e7392c.txt").read_text(encoding="utf-8")
    provenance = extract_text_page(page, "https://example.org/a").provenance
    assert provenance["title"] == "text:headline-line"  # menus come first on this page
    assert provenance["published_at"] == provenance["agency"] == "text:byline"
    page = (SEEDS / "004_67527859dcb3fa44.txt").read_text(encoding="utf-8")
    provenance = extract_text_page(page, "https://example.org/b").provenance
    assert provenance["title"] == "text:first-line"
    assert provenance["agency"] == "text:agency-line"
    assert "authors" not in provenance  # an agency line names no writer


# ---- Pages of layouts the seeds do not have --------------------------------------------
ENGLISH_PAGE = """\
Home | World | India | Business | Sport | Opinion
Subscribe

City council approves new flood barriers after record rainfall

The plan will cost $40 million and take three years to build

By Jane Doe and Raj Mehta
Published: March 3, 2024 10:15 AM EST | Updated: March 4, 2024 08:00 AM EST

Residents clear mud from a street in the old town on Sunday. (Photo: Reuters)

The city council on Monday approved a plan to build flood barriers along the river, \
two weeks after record rainfall flooded more than 300 homes in the old town.

Council members voted nine to two in favour of the plan, which will be paid for by a \
mix of state grants and municipal bonds.

ALSO READ
Heatwave warning issued for northern districts

What happens next

Construction is due to begin in the autumn, once the design has been reviewed by \
independent engineers and the state environment agency.

"We cannot afford another summer like this one," the mayor told reporters after the vote.

Related Stories

Bridge closure leaves commuters stranded for hours

Traffic on the main bridge was halted on Tuesday after inspectors found cracks in...

School reopens after storm damage to its roof

Pupils returned to classes on Wednesday after repairs to the roof were completed…

About Us | Contact Us | Privacy Policy | Terms of Use
© 2024 Example Media. All rights reserved.
"""
ENGLISH_CASE = Case(
    title="City council approves new flood barriers after record rainfall",
    published_at="2024-03-03T10:15:00-05:00",
    authors=["Jane Doe", "Raj Mehta"],
    agency=None,
    language="en",
    first="The city council on Monday approved a plan",
    last="the mayor told reporters after the vote.",
    boilerplate=(
        "Subscribe", "$40 million", "Jane Doe", "Published", "Residents clear mud",
        "ALSO READ", "Heatwave", "Related Stories", "Bridge closure", "Pupils returned",
        "Privacy Policy", "All rights reserved",
    ),
    body=[
        "The city council on Monday approved a plan to build flood barriers along the"
        " river, two weeks after record rainfall flooded more than 300 homes in the old town.",
        "Council members voted nine to two in favour of the plan, which will be paid for by"
        " a mix of state grants and municipal bonds.",
        "What happens next",
        "Construction is due to begin in the autumn, once the design has been reviewed by"
        " independent engineers and the state environment agency.",
        '"We cannot afford another summer like this one," the mayor told reporters after'
        " the vote.",
    ],
)

BHASHA_PAGE = """\
होम | देश | विदेश | खेल | मनोरंजन | राशिफल
बुधवार, 19 जून 2024
मानसून ने केरल में दी दस्तक, मौसम विभाग ने पांच जिलों में जारी किया ऑरेंज अलर्ट
मुख्य बातें
• केरल में मानसून तय समय से दो दिन पहले पहुंचा
• अगले 48 घंटों में भारी बारिश की संभावना
फाइल फोटो: तिरुवनंतपुरम में बारिश के बीच छाता लेकर जाते लोग
तिरुवनंतपुरम, 19 जून (भाषा) दक्षिण-पश्चिम मानसून ने बुधवार को केरल में दस्तक दे दी, जो \
सामान्य तारीख से दो दिन पहले है। भारत मौसम विज्ञान विभाग ने यह जानकारी दी।
विभाग ने कहा कि अगले 48 घंटों में राज्य के पांच जिलों में भारी से बहुत भारी बारिश हो सकती \
है और मछुआरों को समुद्र में न जाने की सलाह दी गई है।
ये भी पढ़ें
दिल्ली में पारा 45 डिग्री के पार पहुंचा
किसानों के लिए राहत
कृषि विशेषज्ञों का कहना है कि समय पर आया मानसून खरीफ की बुवाई के लिए अच्छा संकेत है, \
खासकर धान और दलहन उगाने वाले किसानों के लिए।
मौसम विभाग के अनुसार मानसून अगले सप्ताह तक कर्नाटक और गोवा के कुछ हिस्सों में पहुंच सकता \
है। (भाषा)
टिप्पणियां
इस खबर पर अपनी राय दें...
हमारे बारे में | संपर्क करें | गोपनीयता नीति | विज्ञापन दें
"""
BHASHA_CASE = Case(
    title="मानसून ने केरल में दी दस्तक, मौसम विभाग ने पांच जिलों में जारी किया ऑरेंज अलर्ट",
    published_at="2024-06-19T00:00:00+05:30",
    authors=[],
    agency="Bhasha",
    first="तिरुवनंतपुरम, 19 जून (भाषा) दक्षिण-पश्चिम मानसून ने बुधवार को केरल में दस्तक",
    last="कर्नाटक और गोवा के कुछ हिस्सों में पहुंच सकता है।",
    boilerplate=(
        "होम", "बुधवार, 19 जून 2024", "मुख्य बातें", "तय समय से दो दिन पहले पहुंचा",
        "48 घंटों में भारी बारिश की संभावना", "फाइल फोटो", "ये भी पढ़ें",
        "दिल्ली में पारा", "है। (भाषा)", "टिप्पणियां", "अपनी राय", "गोपनीयता नीति",
    ),
    once=("(भाषा)",),  # the wire dateline stays; the closing tag goes
    body=[
        "तिरुवनंतपुरम, 19 जून (भाषा) दक्षिण-पश्चिम मानसून ने बुधवार को केरल में दस्तक दे दी,"
        " जो सामान्य तारीख से दो दिन पहले है। भारत मौसम विज्ञान विभाग ने यह जानकारी दी।",
        "विभाग ने कहा कि अगले 48 घंटों में राज्य के पांच जिलों में भारी से बहुत भारी बारिश हो"
        " सकती है और मछुआरों को समुद्र में न जाने की सलाह दी गई है।",
        "किसानों के लिए राहत",
        "कृषि विशेषज्ञों का कहना है कि समय पर आया मानसून खरीफ की बुवाई के लिए अच्छा संकेत है,"
        " खासकर धान और दलहन उगाने वाले किसानों के लिए।",
        "मौसम विभाग के अनुसार मानसून अगले सप्ताह तक कर्नाटक और गोवा के कुछ हिस्सों में पहुंच"
        " सकता है।",
    ],
)

TEASER_LIST_PAGE = """\
ट्रेंडिंग
सोने के दाम में भारी गिरावट, जानिए आज का भाव
नई दिल्ली । सर्राफा बाजार में बुधवार को सोने की कीमतों में बड़ी गिरावट दर्ज की गई और...
आईपीएल नीलामी की तारीख तय, इस शहर में होगा आयोजन
मुंबई । भारतीय क्रिकेट कंट्रोल बोर्ड ने आगामी सत्र की नीलामी के लिए तारीख…

राजधानी में मेट्रो का चौथा चरण शुरू, 12 नए स्टेशन यात्रियों के लिए खुले – News Darpan

राहुल वर्मा
वरिष्ठ संवाददाता, नई दिल्ली
प्रकाशित: २० जून २०२४, ०३:१५ अपराह्न

नई दिल्ली । राजधानी में मेट्रो के चौथे चरण का पहला खंड गुरुवार को यात्रियों के लिए खोल \
दिया गया। इस खंड पर 12 नए स्टेशन बनाए गए हैं।
मेट्रो प्रबंधन के अनुसार नए खंड से रोजाना करीब दो लाख यात्रियों को फायदा होगा और सड़कों \
पर जाम भी कम होगा।
सस्ता हुआ पेट्रोल! जानिए आपके शहर में आज क्या है नया रेट, देखें पूरी लिस्ट
अधिकारियों ने बताया कि अगले साल तक चौथे चरण के बाकी दो खंड भी पूरे कर लिए जाएंगे। इसके लिए \
काम तेजी से चल रहा है।
टैग्स: दिल्ली मेट्रो, परिवहन
और खबरें
बारिश से पहले नालों की सफाई का काम तेज
नई दिल्ली । नगर निगम ने मानसून से पहले शहर के सभी बड़े नालों की सफाई का काम तेज कर दिया है...
Facebook | Twitter | WhatsApp | Telegram
देश | विदेश | खेल | मनोरंजन
"""
TEASER_LIST_CASE = Case(
    title="राजधानी में मेट्रो का चौथा चरण शुरू, 12 नए स्टेशन यात्रियों के लिए खुले",
    published_at="2024-06-20T15:15:00+05:30",
    authors=["राहुल वर्मा"],
    agency=None,
    first="नई दिल्ली । राजधानी में मेट्रो के चौथे चरण का पहला खंड गुरुवार को",
    last="इसके लिए काम तेजी से चल रहा है।",
    boilerplate=(
        "ट्रेंडिंग", "सोने के दाम", "सर्राफा", "आईपीएल", "News Darpan", "राहुल वर्मा",
        "संवाददाता", "प्रकाशित", "सस्ता हुआ पेट्रोल", "टैग्स", "और खबरें", "नालों की सफाई",
        "Facebook", "मनोरंजन",
    ),
    body=[
        "नई दिल्ली । राजधानी में मेट्रो के चौथे चरण का पहला खंड गुरुवार को यात्रियों के लिए"
        " खोल दिया गया। इस खंड पर 12 नए स्टेशन बनाए गए हैं।",
        "मेट्रो प्रबंधन के अनुसार नए खंड से रोजाना करीब दो लाख यात्रियों को फायदा होगा और"
        " सड़कों पर जाम भी कम होगा।",
        "अधिकारियों ने बताया कि अगले साल तक चौथे चरण के बाकी दो खंड भी पूरे कर लिए जाएंगे।"
        " इसके लिए काम तेजी से चल रहा है।",
    ],
)

WIRE_PAGE = """\
Posted by admin | June 5, 2024

Ceasefire talks resume in Cairo as mediators push for a deal

CAIRO (Reuters) - Negotiators from both sides returned to Cairo on Wednesday for a fresh \
round of ceasefire talks, officials familiar with the discussions said.

The talks are expected to last several days, and mediators have said they are cautiously \
optimistic about the chances of an agreement before the end of the month.

Reporting by John Smith; Editing by Mary Jones
"""
WIRE_CASE = Case(
    title="Ceasefire talks resume in Cairo as mediators push for a deal",
    published_at="2024-06-05T00:00:00+00:00",  # no zone stated, not an Indian page: UTC
    authors=["John Smith"],  # "admin" is a CMS account, "Editing by" is not authorship
    agency="Reuters",
    language="en",
    first="CAIRO (Reuters) - Negotiators from both sides",
    last="before the end of the month.",
    boilerplate=("admin", "Posted", "John Smith", "Mary Jones"),
    body=[
        "CAIRO (Reuters) - Negotiators from both sides returned to Cairo on Wednesday for a"
        " fresh round of ceasefire talks, officials familiar with the discussions said.",
        "The talks are expected to last several days, and mediators have said they are"
        " cautiously optimistic about the chances of an agreement before the end of the month.",
    ],
)

# A teaser list with no "..." summaries above the headline: the URL slug picks it out.
SLUG_PAGE = """\
Trending
Sensex closes higher for third straight day
India beat Australia in a last-over thriller
Heatwave grips north India as schools close early for summer

Priya Nair, Senior Correspondent
Updated: 2 May 2024, 6:40 PM IST

Schools across five northern states will close a week early this summer after \
temperatures crossed 46 degrees Celsius in several districts on Thursday.
Scroll to continue with content
The education department said classes would move online for the remaining days, and \
that the decision would be reviewed if the weather improves.
Share on WhatsApp
A teacher in Lucknow told the department's YouTube channel that attendance had already \
fallen by half this week.
(Disclaimer: This story is auto-generated from a syndicated feed.)
"""
SLUG_CASE = Case(
    title="Heatwave grips north India as schools close early for summer",
    published_at="2024-05-02T18:40:00+05:30",  # only an "Updated" date is stated
    authors=["Priya Nair"],
    agency=None,
    language="en",
    first="Schools across five northern states",
    last="attendance had already fallen by half this week.",
    boilerplate=("Trending", "Sensex", "Australia", "Priya Nair", "Scroll", "Share", "Disclaimer"),
    body=[
        "Schools across five northern states will close a week early this summer after"
        " temperatures crossed 46 degrees Celsius in several districts on Thursday.",
        "The education department said classes would move online for the remaining days,"
        " and that the decision would be reviewed if the weather improves.",
        "A teacher in Lucknow told the department's YouTube channel that attendance had"
        " already fallen by half this week.",
    ],
)

SYNTHETIC = {
    "english-byline": (ENGLISH_PAGE, ENGLISH_CASE, "https://news.example.com/city/flood"),
    "hindi-bhasha": (BHASHA_PAGE, BHASHA_CASE, "https://hindi.example.in/monsoon"),
    "teaser-lists": (TEASER_LIST_PAGE, TEASER_LIST_CASE, "https://example.net/metro"),
    "wire-dateline": (WIRE_PAGE, WIRE_CASE, "https://wire.example.com/cairo"),
    "slug-headline": (
        SLUG_PAGE,
        SLUG_CASE,
        "https://example.com/india/heatwave-grips-north-india-schools-close-early-1017.html",
    ),
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_page(name: str) -> None:
    page, case, url = SYNTHETIC[name]
    check(page, url, case, "\n\n".join(case.body))
    assert extract_text_page(page, url).text.split("\n\n") == case.body


def test_page_without_prose_gives_empty_text() -> None:
    result = extract_text_page("Home | World | Sport\nAdvertisement\n", "https://x.example/")
    assert result.text == ""
    assert result.published_at is None


# ---- Bylines and agencies --------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "agency"),
    [
        ("आईएएनएस", "IANS"),
        ("(आईएएनएस)", "IANS"),
        ("07:26 AM Jun 06, 2025 IST | IANS", "IANS"),
        ("PTI", "PTI"),
        ("पीटीआई", "PTI"),
        ("-- ANI", "ANI"),
        ("एएनआई", "ANI"),
        ("(भाषा)", "Bhasha"),
        ("इनपुट: भाषा", "Bhasha"),
        ("By Jane Doe, Reuters", "Reuters"),
        ("(With inputs from AFP)", "AFP"),
        ("नई दिल्ली, 19 जून (भाषा) सरकार ने बुधवार को कहा।", "Bhasha"),
        ("उन्होंने कहा कि बातचीत जारी रहेगी। (आईएएनएस)", "IANS"),
        ("कोरियन सेंट्रल न्यूज एजेंसी (केसीएनए) के मुताबिक, यह पहली बार है।", None),
        ("इस भाषा में बातचीत हुई।", None),
        ("Credit by RT News", "RT News"),  # a feed credit: the source, as printed
        ("By Agencies", "Agencies"),
        ("इनपुट: एजेंसी", "Agencies"),
        ("Credit: Jane Doe", None),  # a photo credit names no source
        ("By Web Desk", None),  # the outlet's own desk is no wire
    ],
)
def test_detect_agency(text: str, agency: str | None) -> None:
    assert detect_agency(text) == agency


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("By Jane Doe", ["Jane Doe"]),
        ("By शिवेन्द्र कुमार राय | Published: June 19, 2024 05:34 PM", ["शिवेन्द्र कुमार राय"]),
        ("Jane Roe | Published: March 1, 2024", ["Jane Roe"]),
        ("Credit by RT News", []),
        ("By PTI", []),
        ("By News Desk", None),
        ("By Jane Doe, Dec 17, 2025", ["Jane Doe"]),
        ("By Jane Doe ⋅ Senior Editor ⋅ Updated May 6, 2025", ["Jane Doe"]),
        ("Von Anna Schmidt", ["Anna Schmidt"]),
        ("Von Montag an gilt die neue Regel", None),
        ("Par Jean Dupont", ["Jean Dupont"]),
        ("Author: Lisa D. Ellis", ["Lisa D. Ellis"]),
        ("राम कुमार द्वारा | अपडेटेड: 19 जून 2024", ["राम कुमार"]),
        ("द्वारा: राम कुमार", ["राम कुमार"]),
        ("लेखक: राम कुमार", ["राम कुमार"]),
        ("By admin", None),
        ("By Site Admin", None),
        ("By Friday, the council had voted.", None),
        ("Opinion | June 3, 2024", None),
    ],
)
def test_parse_byline(line: str, authors: list[str] | None) -> None:
    byline = parse_byline(line)
    assert (byline.authors if byline else None) == authors


def test_control_characters_in_a_text_dump_never_reach_the_archive() -> None:
    """A dump saved from a terminal: colour codes around the headline, a bell and an
    escape inside a paragraph, a form feed between paragraphs."""
    from pipelines.extraction import extract_page

    seed = sorted(SEEDS.glob("*.txt"))[0].read_text("utf-8")
    clean = extract_page(seed.encode(), "file:///seed.txt")
    assert clean.title
    paragraph = clean.text.split("\n\n")[1]
    middle = len(paragraph) // 2
    dirty = (seed.replace(clean.title, f"\x1b[1;31m{clean.title}\x1b[0m\x07", 1)
             .replace(paragraph, f"{paragraph[:middle]}\x1b\x07{paragraph[middle:]}\x0c", 1))
    assert dirty.count("\x1b") == 3
    result = extract_page(dirty.encode(), "file:///seed.txt")
    assert result.title == clean.title
    assert result.text == clean.text
