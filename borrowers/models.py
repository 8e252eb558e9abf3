"""Borrowers, their businesses, the region master data and the log of who read a file."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """An official region (Kemendagri code): Kota Semarang, its kecamatan and kelurahan.
    Loaded from ``borrowers/data/semarang-regions.csv`` by a migration; ``manage.py
    load_regions FILE`` loads a newer list."""

    class Level(models.TextChoices):
        REGENCY = "regency", _("Kota/Kabupaten")
        DISTRICT = "district", _("Kecamatan")
        VILLAGE = "village", _("Kelurahan")

    code = models.CharField(primary_key=True, max_length=13)
    name = models.CharField(max_length=100)
    level = models.CharField(max_length=8, choices=Level.choices)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Borrower(models.Model):
    """A UMKM owner. ``nik`` is the KTP number (16 digits, validated with python-stdnum;
    birth date and sex agree with it); ``phone`` is E.164 (+62...); the KTP address's
    kelurahan decides residence."""

    class Sex(models.TextChoices):
        MALE = "M", _("Laki-laki")
        FEMALE = "F", _("Perempuan")

    nik = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=150)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    phone = models.CharField(max_length=16)
    address = models.CharField(max_length=300)
    kelurahan = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="borrowers")
    npwp = models.CharField(max_length=16, blank=True, default="")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="borrower"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["name"])]
        constraints = [
            models.CheckConstraint(condition=Q(sex__in=["M", "F"]), name="borrower_sex_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class Business(models.Model):
    """A borrower's business or cooperative. ``nib`` is the 13-digit OSS business number;
    older businesses may have only a licence number (IUMK). A cooperative carries its
    founding date (``started_on``) and its health rating."""

    class Sector(models.TextChoices):
        TRADE = "trade", _("Perdagangan")
        SERVICES = "services", _("Jasa")
        FOOD = "food", _("Kuliner")
        MANUFACTURING = "manufacturing", _("Industri pengolahan")
        CRAFT = "craft", _("Kerajinan")
        AGRICULTURE = "agriculture", _("Pertanian dan perikanan")
        OTHER = "other", _("Lainnya")

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Usaha perorangan")
        COOPERATIVE = "cooperative", _("Koperasi")

    class Health(models.TextChoices):
        HEALTHY = "sehat", _("Sehat")
        FAIRLY_HEALTHY = "cukup_sehat", _("Cukup sehat")
        SUPERVISED = "dalam_pengawasan", _("Dalam pengawasan")
        SPECIAL_SUPERVISION = "dalam_pengawasan_khusus", _("Dalam pengawasan khusus")

    #: Ratings that count as "healthy" for a cooperative's eligibility.
    HEALTHY_RATINGS = (Health.HEALTHY, Health.FAIRLY_HEALTHY)

    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="businesses")
    name = models.CharField(max_length=150)
    sector = models.CharField(max_length=16, choices=Sector.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INDIVIDUAL)
    nib = models.CharField(max_length=13, blank=True, default="")
    licence_number = models.CharField(max_length=50, blank=True, default="")
    started_on = models.DateField()
    monthly_revenue = models.BigIntegerField()
    workers = models.PositiveIntegerField(default=1)
    health_rating = models.CharField(max_length=24, choices=Health.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(monthly_revenue__gte=0), name="business_revenue_not_negative"),
            models.CheckConstraint(condition=~Q(nib="") | ~Q(licence_number=""), name="business_has_nib_or_licence"),
        ]

    def __str__(self) -> str:
        return self.name


class BorrowerReadLog(models.Model):
    """One row per read of a borrower's full record (unmasked NIK): who, when, how."""

    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="read_log")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    path = models.CharField(max_length=200)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.borrower_id} at {self.at}"
