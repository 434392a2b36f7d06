"""Generate the binary documents of the demo corpus (PDF and DOCX).

The Markdown, HTML and text documents in ``docs/`` are edited by hand. The two
binary documents are produced by this script from the content defined below,
so that their text can be reviewed in version control:

* ``benefits-guide.pdf`` (fpdf2, core Helvetica font, one topic per page)
* ``onboarding-and-equipment.docx`` (python-docx, real Word heading styles)

Output is deterministic: creation dates and document metadata are fixed and
the DOCX zip entries get a fixed timestamp, so re-running the script produces
byte-identical files.

Run from the repository root::

    .venv/bin/python tools/build_demo_docs.py

A developer tool, outside the installed package; nothing imports it.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # fpdf is only imported lazily at build time
    from fpdf import FPDF

DOCS_DIR = Path(__file__).resolve().parent.parent / "app" / "demo" / "docs"
PDF_NAME = "benefits-guide.pdf"
DOCX_NAME = "onboarding-and-equipment.docx"

FIXED_DATE = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)
ZIP_DATE_TIME = (2025, 1, 15, 9, 0, 0)
AUTHOR = "Northwind Lattice People Team"


# --------------------------------------------------------------------------
# Content model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    col_widths: tuple[int, ...] | None = None  # relative widths (PDF only)


Block = Heading | Para | Bullets | Table


@dataclass(frozen=True)
class Page:
    """One printed page of the PDF (or one top-level section of the DOCX)."""

    title: str
    blocks: tuple[Block, ...]


# --------------------------------------------------------------------------
# Benefits guide (PDF). Latin-1 only: the core Helvetica font has no Unicode.
# Each Page starts on a new PDF page, so page N of the PDF is BENEFITS[N-1].
# --------------------------------------------------------------------------

BENEFITS_TITLE = "Northwind Lattice Benefits Guide 2025"

BENEFITS: tuple[Page, ...] = (
    Page(
        "Welcome, eligibility and enrolment",
        (
            Para(
                "This guide explains the benefits Northwind Lattice offers on top of "
                "your salary: health insurance, the company pension, learning, "
                "wellbeing and financial protection. Each topic has its own page. "
                "The guide is a summary; the plan documents of each provider are the "
                "binding source if the two ever differ."
            ),
            Heading("Who is eligible"),
            Para(
                "Benefits are available to employees with a permanent contract, and to "
                "employees with a fixed-term contract of at least 6 months, who work "
                "at least 20 hours per week. Eligibility starts on your first day of "
                "employment."
            ),
            Para(
                "Contractors, freelancers and agency staff are not eligible for any of "
                "the benefits in this guide, because they are not employed by "
                "Northwind Lattice. Their compensation is agreed in their statement of "
                "work or with their agency. Interns on placements shorter than three "
                "months receive only the life insurance described on page 6."
            ),
            Heading("Enrolling when you join"),
            Para(
                "New employees choose their health plan tier and their pension "
                "contribution rate in the benefits portal, Tillpoint, within 30 days "
                "of their start date. If you do not make a choice within 30 days, you "
                "are placed in the Bronze health plan and the default pension "
                "contribution, and you can change your choices at the next open "
                "enrolment."
            ),
            Heading("Open enrolment"),
            Para(
                "Once a year, during open enrolment from 1 to 21 November, every "
                "employee can switch health plan tier and add or remove family "
                "members. Changes made during open enrolment take effect on 1 January "
                "of the following year. Outside open enrolment, changes are only "
                "possible after a life event such as marriage, the birth or adoption "
                "of a child, or the loss of a partner's coverage, and must be "
                "requested within 60 days of the event."
            ),
            Heading("Questions"),
            Para(
                "The Benefits team answers questions at benefits@northwind-lattice.example. "
                "Contact details of every provider are listed on page 6."
            ),
        ),
    ),
    Page(
        "Health insurance",
        (
            Para(
                "Our group health insurance is provided by Meridian Health Mutual. "
                "You choose one of three tiers. The company pays the full premium of "
                "the Bronze tier; for Silver and Gold you pay a monthly contribution "
                "that is deducted from your gross salary."
            ),
            Table(
                ("Tier", "Your monthly contribution", "What is covered"),
                (
                    (
                        "Bronze",
                        "EUR 0",
                        "GP visits, specialists on referral, hospital stay in a shared "
                        "room, prescription medicine",
                    ),
                    (
                        "Silver",
                        "EUR 38",
                        "Everything in Bronze, plus dental check-ups and fillings, "
                        "12 physiotherapy sessions per year, private hospital room",
                    ),
                    (
                        "Gold",
                        "EUR 96",
                        "Everything in Silver, plus orthodontics, glasses or contact "
                        "lenses up to EUR 250 every two years, worldwide emergency cover",
                    ),
                ),
                (18, 30, 52),
            ),
            Heading("Family cover"),
            Para(
                "You can add your partner to any tier for an additional EUR 45 per "
                "month. Children up to the age of 21 are covered free of charge on the "
                "same tier as the employee. Family members are added in Tillpoint."
            ),
            Heading("Making a claim"),
            Para(
                "Show your Meridian card at the doctor or hospital and the bill is "
                "settled directly. If you pay yourself, for example abroad, submit the "
                "invoice in the Meridian app within 90 days. Dental treatment above "
                "EUR 500 needs a treatment plan approved by Meridian before it starts."
            ),
            Heading("Leaving the company"),
            Para(
                "Cover ends on the last day of the month in which your employment "
                "ends. Meridian offers leavers an individual policy without a new "
                "health check if it is requested within 30 days."
            ),
        ),
    ),
    Page(
        "Company pension",
        (
            Para(
                "The Northwind Lattice pension is a defined-contribution plan managed "
                "by Keelstone Pensions. Your own contributions and the company's "
                "contributions are invested in your personal pension account."
            ),
            Heading("How much the company contributes"),
            Para(
                "The company matches your contributions one-to-one up to 7.5 percent "
                "of your base salary. For example, if you contribute 5 percent, the "
                "company adds another 5 percent; if you contribute 10 percent, the "
                "company adds 7.5 percent. Bonuses and overtime payments are not "
                "included in the pensionable salary."
            ),
            Heading("Default contribution"),
            Para(
                "New employees are enrolled automatically with an employee "
                "contribution of 4 percent of base salary. You can change your "
                "contribution rate in Tillpoint once per quarter, to any whole "
                "percentage between 0 and 20 percent."
            ),
            Heading("Vesting"),
            Para(
                "Company contributions vest immediately. Everything in your pension "
                "account belongs to you from the first day, even if you leave "
                "Northwind Lattice shortly afterwards."
            ),
            Heading("Investment options"),
            Bullets(
                (
                    "Lifecycle fund (default): gradually moves from shares to bonds as "
                    "you approach retirement age.",
                    "Sustainable equity fund: global shares screened for environmental "
                    "and social criteria.",
                    "Capital preservation fund: low risk, low expected return.",
                )
            ),
            Para(
                "You can switch investment options at any time in the Keelstone "
                "portal, free of charge."
            ),
        ),
    ),
    Page(
        "Learning and development",
        (
            Para(
                "We want people to grow at Northwind Lattice. Every employee has a "
                "personal learning budget and dedicated learning time, in addition to "
                "training that is required for the job, which the company pays for "
                "separately."
            ),
            Heading("Personal learning budget"),
            Para(
                "Each employee receives a personal learning budget of EUR 900 per "
                "calendar year. It can be spent on courses, certifications, books, "
                "online learning subscriptions and conference tickets that are "
                "related to your current role or a role you are working towards. "
                "Part-time employees receive the full amount. Unused budget does not "
                "carry over to the next year."
            ),
            Heading("Learning days"),
            Para(
                "In addition to your annual leave, you have 5 paid learning days per "
                "calendar year for attending courses, conferences or exams. Learning "
                "days are booked in Timecard with the category 'Learning'."
            ),
            Heading("Larger programmes"),
            Para(
                "Degree programmes and certifications that cost more than your "
                "personal budget can be funded separately with the approval of your "
                "department head and the VP People. If the company pays more than "
                "EUR 2,000 for a single programme and you resign within 12 months of "
                "completing it, you repay a pro-rata share of the cost."
            ),
            Heading("How to use the budget"),
            Bullets(
                (
                    "Discuss the learning activity with your manager.",
                    "Request it in Tillpoint under 'Learning', with the cost and a link.",
                    "After approval, pay and claim the cost, or ask the Benefits team to "
                    "pay the provider directly for amounts above EUR 300.",
                )
            ),
            Heading("Internal learning"),
            Para(
                "The Lattice Academy runs free internal courses on vibration analysis, "
                "firmware basics and customer communication. Academy courses do not "
                "use your personal budget or your learning days."
            ),
        ),
    ),
    Page(
        "Health and wellbeing",
        (
            Heading("Sports and fitness"),
            Para(
                "Northwind Lattice pays a fitness subsidy of EUR 30 per month towards "
                "a gym, swimming pool, climbing hall or sports club membership of your "
                "choice. Upload proof of membership in Tillpoint once a year; the "
                "subsidy is paid with your salary."
            ),
            Heading("Employee Assistance Programme"),
            Para(
                "Our Employee Assistance Programme is run by Harbourline, an "
                "independent counselling service. Harbourline offers up to 12 free, "
                "confidential counselling sessions per year for you and for each "
                "member of your household, by phone, video or in person. Topics "
                "include stress, relationships, grief, money worries and legal "
                "questions. Northwind Lattice never learns who uses the service."
            ),
            Heading("Bike leasing"),
            Para(
                "Through the bike leasing scheme you can lease a bicycle or e-bike "
                "with a retail price of up to EUR 4,000 over 36 months. The lease is "
                "paid from your gross salary, which lowers the cost compared to buying "
                "privately. At the end of the lease you can buy the bike for 15 "
                "percent of its original price."
            ),
            Heading("Health checks"),
            Para(
                "Employees aged 40 and over can book a free preventive health check "
                "every two years with Meridian's partner clinics. Employees at the "
                "Eskerford plant also have an annual hearing test as part of "
                "occupational health."
            ),
        ),
    ),
    Page(
        "Financial protection and contacts",
        (
            Heading("Life insurance"),
            Para(
                "All employees are covered by group life insurance from their first "
                "day. If you die while employed by Northwind Lattice, your nominated "
                "beneficiaries receive a lump sum of three times your annual base "
                "salary. Nominate or change beneficiaries in Tillpoint."
            ),
            Heading("Long-term disability"),
            Para(
                "If illness or injury keeps you from working for more than 90 days in "
                "a row, long-term disability insurance pays 70 percent of your base "
                "salary until you can return to work or reach retirement age."
            ),
            Heading("Public transport"),
            Para(
                "The company pays 50 percent of a monthly or annual public transport "
                "season ticket for your commute. Upload the ticket in Tillpoint."
            ),
            Heading("Who to contact"),
            Table(
                ("Topic", "Provider", "Contact"),
                (
                    (
                        "General benefits questions",
                        "Benefits team",
                        "benefits@northwind-lattice.example",
                    ),
                    (
                        "Health insurance",
                        "Meridian Health Mutual",
                        "Meridian app or +31 20 555 0142",
                    ),
                    ("Pension", "Keelstone Pensions", "Keelstone portal"),
                    ("Counselling (EAP)", "Harbourline", "0800 555 0199, 24 hours a day"),
                    ("Benefits portal", "Tillpoint", "tillpoint.northwind-lattice.example"),
                ),
                (34, 30, 36),
            ),
        ),
    ),
)


# --------------------------------------------------------------------------
# Onboarding and equipment (DOCX)
# --------------------------------------------------------------------------

ONBOARDING_TITLE = "Onboarding and Equipment Guide"

ONBOARDING_INTRO = (
    "Welcome to Northwind Lattice! This guide tells you what to expect in your "
    "first week, which equipment you receive, and whom to contact when you need "
    "help. It is written for new employees at the Varnhaven headquarters; new "
    "colleagues in Eskerford and Rotterdam receive a site-specific schedule from "
    "their manager."
)

ONBOARDING: tuple[Page, ...] = (
    Page(
        "Before your first day",
        (
            Para(
                "About one week before you start, the People team sends you your "
                "username, a link to activate your account, and the name of your "
                "onboarding buddy. Your buddy is an experienced colleague from a "
                "neighbouring team who will answer everyday questions during your "
                "first three months. Your laptop is prepared and enrolled by IT "
                "before you arrive, so it is ready on day one."
            ),
            Para(
                "Please bring an identity document on your first day; reception needs "
                "it to issue your permanent badge."
            ),
        ),
    ),
    Page(
        "Your first week",
        (
            Para(
                "The first week is the same for every new employee at headquarters. "
                "Your manager adds team-specific meetings around it."
            ),
            Table(
                ("Day", "Time", "What happens"),
                (
                    (
                        "Monday",
                        "09:30",
                        "Arrive at reception at 14 Kestrel Quay, where your buddy meets you.",
                    ),
                    (
                        "Monday",
                        "10:00",
                        "Welcome session with the People team: contracts, Timecard, Tillpoint.",
                    ),
                    (
                        "Monday",
                        "11:30",
                        "Laptop handover and account set-up with the IT service desk.",
                    ),
                    ("Monday", "13:00", "Lunch with your team."),
                    ("Tuesday", "09:00-11:00", "Security awareness course (mandatory)."),
                    (
                        "Tuesday",
                        "14:00",
                        "Product introduction with a live LatticeSense and Meshwatch demo.",
                    ),
                    (
                        "Wednesday",
                        "All day",
                        "Visit to the Eskerford assembly plant, including the calibration lab.",
                    ),
                    (
                        "Thursday",
                        "10:00",
                        "One-to-one with your manager to agree your goals for the first 90 days.",
                    ),
                    ("Friday", "14:00", "First-week feedback session with the People team."),
                ),
            ),
            Para(
                "If you cannot attend a session because of illness, the People team "
                "reschedules it with you."
            ),
        ),
    ),
    Page(
        "Probation",
        (
            Para(
                "Every new employment contract starts with a probation period of six "
                "months. In month five, you and your manager hold a probation review "
                "meeting, and the People team confirms the outcome in writing before "
                "the period ends."
            ),
        ),
    ),
    Page(
        "Equipment",
        (
            Heading("Standard equipment"),
            Bullets(
                (
                    "A 14-inch Windows laptop. Software and firmware engineers may "
                    "choose a MacBook Pro instead.",
                    "A docking station and a 27-inch monitor for your home workplace.",
                    "A noise-cancelling headset with microphone.",
                    "A laptop backpack and a privacy filter.",
                )
            ),
            Para(
                "Company phones are only issued to employees in field service, sales "
                "and on-call rotations. Everyone else may use a personal phone for "
                "work apps once it has been enrolled by IT."
            ),
            Heading("Home-office allowance"),
            Para(
                "Employees receive a one-time home-office allowance of €600 to buy a "
                "desk, an office chair or lighting for working from home. Claim it in "
                "Ledgerly with receipts within the first six months of employment. "
                "Items bought with the allowance are yours to keep."
            ),
            Heading("Laptop replacement and repairs"),
            Para(
                "Laptops are replaced every four years, or earlier if they fail. If "
                "your laptop breaks, bring it to the IT service desk; you receive a "
                "loan laptop the same day. Accidental damage is covered by the company, "
                "but please report it honestly and promptly."
            ),
            Heading("Returning equipment"),
            Para(
                "When you leave Northwind Lattice, return your laptop, monitor, "
                "docking station and badge within five working days of your last "
                "day. The headset and backpack are yours to keep."
            ),
            Heading("Contractors"),
            Para(
                "Contractors are not eligible for the home-office allowance or the "
                "standard equipment package. Any hardware a contractor needs is lent "
                "by the sponsor's team for the duration of the statement of work and "
                "must be returned on the contractor's last day."
            ),
        ),
    ),
    Page(
        "Who to contact",
        (
            Table(
                ("Topic", "Contact", "How to reach them"),
                (
                    (
                        "Contract, probation, People questions",
                        "Priya Okonkwo, People Partner (Varnhaven)",
                        "people@northwind-lattice.example",
                    ),
                    (
                        "Laptop, accounts, access",
                        "IT service desk",
                        "Extension 4357, or the service portal",
                    ),
                    (
                        "Desk, badge, building",
                        "Tomasz Brandt, Facilities Lead",
                        "facilities@northwind-lattice.example",
                    ),
                    ("Salary and payslips", "Payroll team", "payroll@northwind-lattice.example"),
                    ("Everyday questions", "Your onboarding buddy", "Chat or in person"),
                ),
            ),
            Para(
                "The IT service desk is staffed from 08:00 to 18:00 on weekdays. "
                "Outside these hours, urgent access problems are handled by the "
                "on-call engineer through the same extension."
            ),
        ),
    ),
)


# --------------------------------------------------------------------------
# PDF rendering
# --------------------------------------------------------------------------


def _check_latin1(text: str) -> str:
    text.encode("latin-1")  # raises UnicodeEncodeError on unsupported characters
    return text


def build_pdf(path: Path) -> int:
    """Write the benefits guide PDF and return its page count."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class BenefitsPDF(FPDF):
        def header(self) -> None:
            if self.page_no() == 1:  # the title page carries the title itself
                self.ln(10)
                return
            self.set_font("Helvetica", "I", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 6, BENEFITS_TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="R")
            self.set_text_color(0, 0, 0)
            self.ln(4)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")
            self.set_text_color(0, 0, 0)

    pdf = BenefitsPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(BENEFITS_TITLE)
    pdf.set_author(AUTHOR)
    pdf.set_subject("Employee benefits: health, pension, learning, wellbeing")
    pdf.set_creator("app/demo/build_docs.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang("en")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 15, 20)

    for number, page in enumerate(BENEFITS, start=1):
        pdf.add_page()
        if number == 1:
            pdf.set_font("Helvetica", "B", 20)
            pdf.multi_cell(
                0, 10, _check_latin1(BENEFITS_TITLE), new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            pdf.ln(2)
        pdf.set_font("Helvetica", "B", 15)
        pdf.multi_cell(
            0, 8, _check_latin1(f"{number}. {page.title}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.ln(2)
        for block in page.blocks:
            _render_pdf_block(pdf, block)
        if pdf.page_no() != number:
            raise RuntimeError(
                f"benefits page {number} ({page.title!r}) overflowed onto another page"
            )

    path.write_bytes(bytes(pdf.output()))
    return pdf.page_no()


def _render_pdf_block(pdf: FPDF, block: Block) -> None:
    from fpdf.enums import XPos, YPos

    if isinstance(block, Heading):
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 7, _check_latin1(block.text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif isinstance(block, Para):
        pdf.set_font("Helvetica", "", 10.5)
        pdf.multi_cell(0, 5.5, _check_latin1(block.text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    elif isinstance(block, Bullets):
        pdf.set_font("Helvetica", "", 10.5)
        for item in block.items:
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(0, 5.5, _check_latin1(f"- {item}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    else:
        pdf.set_font("Helvetica", "", 9.5)
        with pdf.table(
            col_widths=block.col_widths,
            line_height=5,
            text_align="LEFT",
            first_row_as_headings=True,
        ) as table:
            for cells in (block.header, *block.rows):
                row = table.row()
                for cell in cells:
                    row.cell(_check_latin1(cell))
        pdf.ln(3)


# --------------------------------------------------------------------------
# DOCX rendering
# --------------------------------------------------------------------------


def build_docx(path: Path) -> int:
    """Write the onboarding DOCX and return the number of headings written."""
    from docx import Document

    doc = Document()
    props = doc.core_properties
    props.title = ONBOARDING_TITLE
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.subject = "First week, equipment and contacts for new employees"
    props.keywords = "onboarding, equipment, first week, contacts"
    props.comments = "Generated by app/demo/build_docs.py"
    props.revision = 1
    props.created = FIXED_DATE.replace(tzinfo=None)
    props.modified = FIXED_DATE.replace(tzinfo=None)
    props.last_printed = FIXED_DATE.replace(tzinfo=None)

    headings = 0
    doc.add_heading(ONBOARDING_TITLE, level=0)
    doc.add_paragraph(ONBOARDING_INTRO)
    for section in ONBOARDING:
        doc.add_heading(section.title, level=1)
        headings += 1
        for block in section.blocks:
            if isinstance(block, Heading):
                doc.add_heading(block.text, level=block.level)
                headings += 1
            elif isinstance(block, Para):
                doc.add_paragraph(block.text)
            elif isinstance(block, Bullets):
                for item in block.items:
                    doc.add_paragraph(item, style="List Bullet")
            else:
                table = doc.add_table(rows=1, cols=len(block.header))
                table.style = "Table Grid"
                for cell, text in zip(table.rows[0].cells, block.header, strict=True):
                    cell.text = text
                    for run in cell.paragraphs[0].runs:
                        run.bold = True
                for cells in block.rows:
                    row = table.add_row()
                    for cell, text in zip(row.cells, cells, strict=True):
                        cell.text = text

    buffer = io.BytesIO()
    doc.save(buffer)
    path.write_bytes(_normalise_zip(buffer.getvalue()))
    return headings


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip archive with fixed entry timestamps for reproducible output."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def main() -> None:
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    pages = build_pdf(DOCS_DIR / PDF_NAME)
    print(f"wrote {DOCS_DIR / PDF_NAME} ({pages} pages)")
    headings = build_docx(DOCS_DIR / DOCX_NAME)
    print(f"wrote {DOCS_DIR / DOCX_NAME} ({headings} headings)")


if __name__ == "__main__":
    main()
