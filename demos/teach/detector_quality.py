"""How good each detector is on the class's own photos: the person-demo runs its
students corrected, scored by the result page's own matcher, for the class page
and the class API.

The caller got the class through ``accounts.selectors.get_cohort_for_instructor``
(which enforces who may see it); two queries however many runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from accounts.models import Cohort
from demos.models import DemoRun
from demos.people.selectors import detector_name, truth_agreement, with_detections


@dataclass(frozen=True)
class DetectorQuality:
    """One detector over the class's corrected photos, boxes pooled across photos.

    Precision, recall and IoU come from the result page's own matcher
    (``truth_agreement``) at each run's threshold, so a class with one corrected
    photo shows exactly the figures its result page shows.
    """

    detector: str  # the registry key
    name: str
    photos: int
    found: int
    truth: int
    matched: int
    iou_sum: float  # summed over matched boxes
    count_error_sum: int  # |people shown - people marked|, summed over photos
    photos_with_range: int  # runs that showed a [count_low, count_high] range
    in_range: int  # ... and whose range held the marked count

    @property
    def precision(self) -> float:
        """matched / found, 1.0 when nothing was found (as for one run)."""
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        """matched / marked, 1.0 when nobody was marked (as for one run)."""
        return self.matched / self.truth if self.truth else 1.0

    @property
    def mean_iou(self) -> float | None:
        return self.iou_sum / self.matched if self.matched else None

    @property
    def mean_count_error(self) -> float:
        return self.count_error_sum / self.photos

    @property
    def range_hit_rate(self) -> float | None:
        """Share of ranged photos whose range held the true count (None: no range)."""
        if not self.photos_with_range:
            return None
        return self.in_range / self.photos_with_range


def detector_quality(cohort: Cohort) -> list[DetectorQuality]:
    """Per detector, over the person-demo runs the class's students corrected:
    photos, pooled precision / recall, mean IoU of the matched boxes, mean absolute
    count error and how often the shown range held the true count. Two queries
    (the runs, their detections); detectors in name order."""
    runs = with_detections(
        DemoRun.objects.filter(
            owner__cohort_memberships__cohort=cohort, truth_boxes__isnull=False
        )
    )
    totals: dict[str, Counter] = {}
    for run in runs:
        scores = truth_agreement(run)
        if scores is None:  # a JSON null: not corrected
            continue
        sums = totals.setdefault(run.detector, Counter())
        sums["photos"] += 1
        sums["found"] += scores.found
        sums["truth"] += scores.truth
        sums["matched"] += scores.matched
        sums["iou"] += scores.mean_iou * scores.matched
        sums["count_error"] += abs(scores.found - scores.truth)
        if run.count_low is not None and run.count_high is not None:
            sums["ranged"] += 1
            sums["in_range"] += run.count_low <= scores.truth <= run.count_high
    rows = [
        DetectorQuality(
            detector=key,
            name=detector_name(key),
            photos=sums["photos"],
            found=sums["found"],
            truth=sums["truth"],
            matched=sums["matched"],
            iou_sum=sums["iou"],
            count_error_sum=sums["count_error"],
            photos_with_range=sums["ranged"],
            in_range=sums["in_range"],
        )
        for key, sums in totals.items()
    ]
    return sorted(rows, key=lambda row: (row.name.lower(), row.detector))
