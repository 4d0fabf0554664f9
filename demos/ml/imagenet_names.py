"""ImageNet-1k class names in the page's language (pure: no torch, no Django).

English names are torchvision's (``models_store/data/imagenet1k.txt``); Korean ones
only where curated below, so a cached result can be shown in Korean without loading
a model.
"""

from __future__ import annotations

from models_store.registry import IMAGENET_1K

# Korean names for common classes, checked one by one against the English name and
# the class's WordNet meaning ("passenger car" is a railway carriage, "sorrel" a
# reddish-brown horse, "mouse" the computer mouse). Every other class is shown in
# English: never a guessed translation.
KOREAN_NAMES: dict[int, str] = {
    0: "텐치(잉어과 물고기)",
    1: "금붕어",
    105: "코알라",
    207: "골든 리트리버",
    281: "얼룩무늬 고양이(태비)",
    282: "호랑이무늬 고양이",
    283: "페르시안 고양이",
    284: "샴 고양이",
    285: "이집트 고양이",
    291: "사자",
    292: "호랑이",
    339: "밤색 말",
    340: "얼룩말",
    386: "아프리카코끼리",
    388: "자이언트 판다",
    404: "여객기",
    407: "구급차",
    414: "배낭",
    418: "볼펜",
    430: "농구공",
    444: "2인용 자전거(탠덤)",
    487: "휴대 전화",
    504: "머그잔",
    508: "컴퓨터 키보드",
    518: "헬멧(충돌 보호용)",
    555: "소방차",
    560: "미식축구 헬멧",
    563: "만년필",
    620: "노트북 컴퓨터",
    654: "미니버스",
    657: "미사일",
    664: "모니터",
    665: "모페드(소형 오토바이)",
    670: "스쿠터",
    671: "산악자전거",
    673: "컴퓨터 마우스",
    705: "객차(철도)",
    717: "픽업트럭",
    734: "경찰 호송차",
    779: "스쿨버스",
    805: "축구공",
    812: "우주 왕복선",
    817: "스포츠카",
    837: "선글라스",
    850: "테디 베어",
    851: "텔레비전",
    852: "테니스공",
    874: "트롤리버스",
    879: "우산",
    890: "배구공",
    895: "군용기",
    898: "물병",
    907: "와인병",
    919: "도로 표지판",
    920: "신호등",
    937: "브로콜리",
    948: "그래니 스미스 사과",
    949: "딸기",
    950: "오렌지",
    951: "레몬",
    954: "바나나",
    963: "피자",
    967: "에스프레소",
    968: "컵",
}


def class_name(index: int, language: str = "en") -> str:
    """The name of ImageNet class ``index`` in ``language`` ("ko" or anything else).

    Korean where ``KOREAN_NAMES`` has the class, else the English name.
    """
    if language.startswith("ko") and index in KOREAN_NAMES:
        return KOREAN_NAMES[index]
    return IMAGENET_1K[index]
