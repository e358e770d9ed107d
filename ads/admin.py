"""Campaigns in the Django admin: the list says what is live and how it is doing; the form processes the
picture (metadata stripped) and offers the channel categories to target."""

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from core.errors import ServiceError
from interests.categories import CATEGORIES, category_choices

from . import services
from .models import Campaign, CampaignDay
from .selectors import site_day


class CampaignForm(forms.ModelForm[Campaign]):
    categories = forms.MultipleChoiceField(
        choices=category_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Show only with channels of these categories (and Explore filtered to one). None: everywhere."),
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "text",
            "image",
            "link_url",
            "starts_at",
            "ends_at",
            "weight",
            "daily_cap",
            "categories",
            "is_active",
        ]

    def clean_image(self) -> Any:
        image = self.cleaned_data.get("image")
        if not isinstance(image, UploadedFile):
            return image  # unchanged, cleared or empty
        try:
            picture = services.ad_image_process(upload=image)
        except ServiceError as error:
            raise forms.ValidationError(error.message, code=error.code) from None
        self.instance.image_width, self.instance.image_height = picture.width, picture.height
        return picture.content

    def save(self, commit: bool = True) -> Campaign:
        if not self.instance.image or self.cleaned_data.get("image") is False:
            self.instance.image_width = self.instance.image_height = None
        return super().save(commit=commit)


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("live", _("Live now")), ("scheduled", _("Scheduled")), ("ended", _("Ended")), ("paused", _("Paused"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
        now = timezone.now()
        match self.value():
            case "live":
                return queryset.filter(is_active=True, starts_at__lte=now, ends_at__gt=now)
            case "scheduled":
                return queryset.filter(is_active=True, starts_at__gt=now)
            case "ended":
                return queryset.filter(ends_at__lte=now)
            case "paused":
                return queryset.filter(is_active=False)
        return queryset


class TargetingFilter(admin.SimpleListFilter):
    title = _("targeting")
    parameter_name = "targeting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("everywhere", _("Everywhere")), ("targeted", _("Some categories"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
        if self.value() == "everywhere":
            return queryset.filter(categories=[])
        if self.value() == "targeted":
            return queryset.filter(~Q(categories=[]))
        return queryset


class CampaignDayInline(admin.TabularInline[CampaignDay, Campaign]):
    model = CampaignDay
    fields = ("day", "impressions", "clicks", "dismissals")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-day",)
    verbose_name_plural = _("counts per day")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    form = CampaignForm
    list_display = (
        "name",
        "live",
        "runs",
        "weight",
        "targets",
        "today",
        "impressions",
        "clicks",
    )
    list_filter = (StatusFilter, "is_active", TargetingFilter)
    search_fields = ("name", "text", "link_url")
    date_hierarchy = "starts_at"
    readonly_fields = ("public_id", "created_at")
    inlines = [CampaignDayInline]
    fieldsets = (
        (None, {"fields": ("name", "is_active", "public_id", "created_at")}),
        (_("The card"), {"fields": ("text", "image", "link_url")}),
        (_("When and how often"), {"fields": ("starts_at", "ends_at", "weight", "daily_cap")}),
        (_("Where"), {"fields": ("categories",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                total_impressions=Sum("days__impressions", default=0),
                total_clicks=Sum("days__clicks", default=0),
                today_impressions=Sum("days__impressions", filter=Q(days__day=site_day()), default=0),
            )
        )

    @admin.display(boolean=True, description=_("live"))
    def live(self, campaign: Campaign) -> bool:
        now: datetime = timezone.now()
        return campaign.is_active and campaign.starts_at <= now < campaign.ends_at

    @admin.display(description=_("runs"), ordering="starts_at")
    def runs(self, campaign: Campaign) -> str:
        start, end = timezone.localtime(campaign.starts_at), timezone.localtime(campaign.ends_at)
        return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"

    @admin.display(description=_("categories"))
    def targets(self, campaign: Campaign) -> str:
        return ", ".join(str(CATEGORIES.get(slug, slug)) for slug in campaign.categories) or str(_("everywhere"))

    @admin.display(description=_("shown today"))
    def today(self, campaign: Any) -> str:
        shown = int(campaign.today_impressions)
        return f"{shown} / {campaign.daily_cap}" if campaign.daily_cap else str(shown)

    @admin.display(description=_("impressions"), ordering="total_impressions")
    def impressions(self, campaign: Any) -> int:
        return int(campaign.total_impressions)

    @admin.display(description=_("clicks (rate)"), ordering="total_clicks")
    def clicks(self, campaign: Any) -> str:
        clicks, shown = int(campaign.total_clicks), int(campaign.total_impressions)
        return f"{clicks} ({clicks / shown:.1%})" if shown else str(clicks)


@admin.register(CampaignDay)
class CampaignDayAdmin(admin.ModelAdmin[CampaignDay]):
    """The counters, to read and filter: they are written only by the ad views."""

    list_display = ("day", "campaign", "impressions", "clicks", "dismissals")
    list_filter = ("campaign", "day")
    search_fields = ("campaign__name",)
    date_hierarchy = "day"
    list_select_related = ("campaign",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CampaignDay | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CampaignDay | None = None) -> bool:
        return False
