"""Village names in the style of a county's region: Mongolian, Tibetan, Guizhou or Han."""

from __future__ import annotations

import numpy as np

_HAN_FIRST = (
    "东西南北前后上下大小新老中三五八红黄白青石杨李王张刘陈马高赵孙周吴郑胡郭何罗梁宋谢韩唐冯"
    "于董程曹袁邓许沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎潘杜戴夏钟汪田任姜范方姚谭廖邹熊金陆郝孔崔康"
    "毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎常武乔贺龚双永长太兴福安和平富丰德义仁"
)
_HAN_SECOND = "家庄营屯沟河湾山坡坪坝岭桥井泉林园寨堡店集铺口峪台岗头洼滩梁塔渠湖窑圪"
_GUIZHOU_SECOND = "屯堡寨哨旗关坝冲山田湾院坡洞坪场铺"
_MONGOL = tuple(
    "巴彦 乌兰 查干 宝力 哈日 阿拉坦 额尔敦 希拉 乌力吉 那仁 呼和 敖包 "
    "宝日 萨如拉 吉日嘎朗 图布信 温都尔 毛都 塔林 沙日 伊和 巴嘎 锡林 都兰 "
    "赛罕 浩特 包日 乌素 陶勒盖 高勒 塔拉 图门 阿日 布日都 额很 宝格达 "
    "德力格尔 朝鲁 哈沙图 乌审".split()
)
_TIBETAN = tuple(
    "扎 西 德 吉 格 勒 拉 绒 曲 色 达 然 乌 呷 麦 洛 雄 降 央 措 "
    "木 日 卡 孜 巴 尼 热 多 甲 贡 玛 龙 宗 沙 亚 俄 让 朵 泽 仁".split()
)
# Named in seed 002 (展旦召苏木, 梁外地区): real names where we know them.
DALAT_NAMED = {"150621201000": ["赛乌素村", "查干沟村", "和合成村"]}


def village_name(rng: np.random.Generator, style: str, zone: str) -> str:
    if style == "mongol" and (zone == "pastoral" or (zone == "mixed" and rng.random() < 0.4)):
        a, b = rng.choice(len(_MONGOL), size=2, replace=False)
        return f"{_MONGOL[a]}{_MONGOL[b]}嘎查"
    if style == "tibetan":
        a, b = rng.choice(len(_TIBETAN), size=2, replace=False)
        return f"{_TIBETAN[a]}{_TIBETAN[b]}村"
    second = _GUIZHOU_SECOND if style == "guizhou" else _HAN_SECOND
    first = _HAN_FIRST[rng.integers(len(_HAN_FIRST))]
    last = second[rng.integers(len(second))]
    middle = "家" if rng.random() < 0.15 and last != "家" else ""
    return f"{first}{middle}{last}村"


def name_style(county_code: str) -> str:
    if county_code.startswith("15"):
        return "mongol"
    if county_code.startswith(("54", "5132", "5133", "63")):
        return "tibetan"
    if county_code.startswith("52"):
        return "guizhou"
    return "han"

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许沈曾彭吕苏卢蒋蔡贾"
    "丁魏薛叶阎潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹常武乔贺"
)
_GIVEN = "国建立志明永海军平华文德成春玉桂英秀兰凤云红霞丽敏静宏伟刚强勇俊杰斌鹏辉涛磊峰庆福贵生林山东晓光利忠"


def person_name(rng: np.random.Generator) -> str:
    """A plausible Chinese personal name: a common surname and one or two given characters."""
    surname = _SURNAMES[rng.integers(len(_SURNAMES))]
    size = 1 if rng.random() < 0.3 else 2
    return surname + "".join(_GIVEN[i] for i in rng.choice(len(_GIVEN), size=size, replace=False))
