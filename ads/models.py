"""House ads. Nothing here points at a person: a campaign and its daily counters are all there is."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import new_public_id
from interests.categories import CATEGORIES


class Campaign(models.Model):
    """A house ad the operators run: a picture, a line of text and a link, live between two moments.

    `categories` holds channel category slugs (interests.categories); empty means untargeted. A targeted
    campaign is shown only with channels of those categories (or Explore filtered to one of them), an
    untargeted one anywhere. `daily_cap` bounds today's impressions (empty: no cap). Among the campaigns
    live at a moment, one is drawn with probability proportional to `weight`.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=80, help_text=_("For the operators only; never shown."))
    text = models.CharField(max_length=200, help_text=_("The line people read on the card."))
    image = models.ImageField(upload_to="ads/", blank=True)
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    link_url = models.URLField(
        _("link URL"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Where a tap goes, through same's click counter. Nothing about the person is added to it."),
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    weight = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Relative chance among the campaigns live at the same time: 2 is shown twice as often as 1."),
    )
    categories = models.JSONField(default=list, blank=True, help_text=_("Channel categories; none means everywhere."))
    daily_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Impressions per day (site time zone) at most; empty means no cap.")
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="campaign_ends_after_start"
            ),
            models.CheckConstraint(condition=models.Q(weight__gte=1), name="campaign_weight_positive"),
        ]
        indexes = [models.Index(fields=["is_active", "starts_at", "ends_at"], name="campaign_live")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.categories, list) or not all(slug in CATEGORIES for slug in self.categories):
            raise ValidationError({"categories": _("Choose among the channel categories.")})

    @property
    def link_host(self) -> str:
        """The link's site, as the card shows it ("example.org")."""
        host = urlsplit(self.link_url).hostname or ""
        return host.removeprefix("www.")


class CampaignDay(models.Model):
    """One campaign's counts for one day (site time zone). Counters only move by `F()` updates, so
    concurrent requests never lose a count; one row per campaign and day is a database constraint."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    dismissals = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["campaign", "day"], name="one_row_per_campaign_day")]
        verbose_name = "campaign day"

    def __str__(self) -> str:
        return f"{self.campaign} on {self.day}"
