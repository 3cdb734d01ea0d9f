"""Write the demo rosters in samples/: roster-sample.xlsx, roster-sample.csv, roster-bad-rows.csv.

Every person, organisation and phone number here is made up.
Run from the project root: .venv/bin/python samples/make_samples.py
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from bot.exports.cells import append_row

HERE = Path(__file__).parent

HEADER = ["序号", "姓名", "手机号码", "界别", "专委会", "委员联系点", "工作单位及职务"]

# Liaison points near Fuzhou (26.08, 119.30). Coordinates are not part of the roster file; they
# are here for demo seeding of the liaison_point table.
LIAISON_POINTS: dict[str, tuple[float, float]] = {
    "鼓楼区东街街道委员联系点": (26.0865, 119.3011),
    "台江区茶亭街道委员联系点": (26.0712, 119.3085),
    "仓山区城门镇委员联系点": (25.9921, 119.3379),
    "晋安区岳峰镇委员联系点": (26.0958, 119.3396),
    "马尾区罗星街道委员联系点": (25.9936, 119.4552),
    "长乐区吴航街道委员联系点": (25.9625, 119.5231),
}
P1, P2, P3, P4, P5, P6 = LIAISON_POINTS

# name, national mobile, sector, committees, liaison point, organisation
MEMBERS: list[tuple[str, str, str, list[str], str, str]] = [
    ("林志强", "13805910001", "中共", ["提案委"], P1, "鼓楼区人民政府 副区长"),
    ("陈秀英", "13905910002", "中共", ["社会和法制委"], P2, "台江区司法局 局长"),
    ("黄建华", "15005910003", "民革", ["经济委", "提案委"], P3, "福建某律师事务所 主任"),
    ("郑丽萍", "18605910004", "民革", ["文化文史和学习委"], P1, "福州市第三中学 高级教师"),
    ("王　芳", "13805910005", "民盟", ["文化文史和学习委", "社会和法制委"], P2, "福州大学 教授"),
    ("吴国栋", "13905910006", "民盟", ["提案委"], P4, "福建师范大学 副教授"),
    ("张伟明", "15005910007", "民建", ["经济委"], P5, "某电子科技有限公司 董事长"),
    ("刘晓燕", "18605910008", "民建", ["经济委", "社会和法制委"], P3, "某会计师事务所 合伙人"),
    ("李春生", "13805910009", "经济界", ["经济委"], P5, "某港口物流集团 总经理"),
    ("许文斌", "13905910010", "经济界", ["经济委", "提案委"], P6, "某纺织有限公司 总经理"),
    ("杨美玲", "15005910011", "经济界", [], P4, "某商业银行福州分行 行长"),
    ("何水根", "18605910012", "农业界", ["农业农村委"], P6, "长乐区某茶叶专业合作社 理事长"),
    (
        "蔡金花",
        "13805910013",
        "农业界",
        ["农业农村委", "提案委"],
        P3,
        "闽侯县农业农村局 高级农艺师",
    ),
    ("邱明辉", "13905910014", "农业界", ["农业农村委"], P5, "某现代农业发展有限公司 经理"),
    ("罗振宇", "15005910015", "科技界", ["经济委"], P1, "福州某软件股份有限公司 技术总监"),
    ("潘雅琴", "18605910016", "科技界", ["提案委"], P4, "中科院某研究所福州分所 研究员"),
    ("魏志刚", "13805910017", "科技界", [], P2, "福州市科学技术协会 副主席"),
    ("谢丽华", "13905910018", "教育界", ["文化文史和学习委"], P1, "鼓楼区实验小学 校长"),
    (
        "欧阳明",
        "15005910019",
        "教育界",
        ["社会和法制委", "文化文史和学习委"],
        P4,
        "福州职业技术学院 副院长",
    ),
    ("高淑贞", "18605910020", "教育界", ["提案委"], P3, "仓山区教师进修学校 校长"),
    ("方永康", "13805910021", "医药卫生界", ["社会和法制委"], P2, "福州市第一医院 主任医师"),
    (
        "叶红梅",
        "13905910022",
        "医药卫生界",
        ["社会和法制委", "提案委"],
        P6,
        "长乐区妇幼保健院 院长",
    ),
    ("游振华", "15005910023", "医药卫生界", [], P5, "马尾区社区卫生服务中心 主任"),
    ("梁家辉", "18605910024", "港澳", ["经济委"], P1, "香港某投资有限公司 董事"),
    ("何婉仪", "13805910025", "港澳", ["文化文史和学习委"], P5, "澳门某文化基金会 理事"),
    ("陈　健", "13905910026", "特邀", ["提案委"], P2, "福州市归国华侨联合会 副主席"),
    ("朱德明", "15005910027", "特邀", ["农业农村委"], P6, "福州市工商业联合会 秘书长"),
    ("沈佳慧", "18605910028", "特邀", ["文化文史和学习委"], P3, "福州画院 一级美术师"),
    ("郭宏伟", "13805910029", "中共", ["经济委", "农业农村委"], P4, "晋安区人民政府 区长"),
    ("阿依古丽·买买提", "13905910030", "特邀", ["社会和法制委"], P1, "福州市民族宗教事务局 干部"),
]

# The same numbers written the ways real rosters write them.
PHONE_FORMATS: list[Callable[[str], str]] = [
    lambda n: n,
    lambda n: f"{n[:3]} {n[3:7]} {n[7:]}",
    lambda n: f"{n[:3]}-{n[3:7]}-{n[7:]}",
    lambda n: f"+86 {n[:3]} {n[3:7]} {n[7:]}",
    lambda n: f"0086-{n}",
    lambda n: f"({n[:3]}) {n[3:7]} {n[7:]}",
    lambda n: f"86{n}",
    lambda n: n.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    lambda n: f"{n[:3]}.{n[3:7]}.{n[7:]}",
]
COMMITTEE_SEPARATORS = ["、", "，", "；", "\n", ","]


def _rows() -> list[list[object]]:
    rows: list[list[object]] = []
    for i, (name, phone, sector, committees, point, org) in enumerate(MEMBERS):
        written = PHONE_FORMATS[i % len(PHONE_FORMATS)](phone)
        separator = COMMITTEE_SEPARATORS[i % len(COMMITTEE_SEPARATORS)]
        rows.append([i + 1, name, written, sector, separator.join(committees), point, org])
    return rows


def write_xlsx(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "委员名册"
    # Through the project's one cell writer, like every other xlsx it writes (text stays text).
    append_row(ws, ["福州市政协委员名册（示例数据，均为虚构）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws["A1"].font = Font(bold=True, size=14)
    append_row(ws, HEADER)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in _rows():
        if isinstance(row[2], str) and row[2].isascii() and row[2].isdigit():
            row[2] = int(row[2])  # as Excel stores a number typed without formatting
        append_row(ws, row)
    for column, width in zip("ABCDEFG", (6, 16, 22, 12, 30, 28, 34), strict=True):
        ws.column_dimensions[column].width = width
    for row_cells in ws.iter_rows(min_row=3):
        row_cells[4].alignment = Alignment(wrap_text=True)
    wb.properties.creator = "make_samples.py"
    wb.save(path)


def write_csv(path: Path, rows: list[list[object]], header: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))  # BOM: Excel opens it as UTF-8


BAD_ROWS_HEADER = ["姓名", "手机", "界别", "专委会", "联系点", "工作单位"]
# Row numbers in the comments are spreadsheet rows (the header is row 1).
BAD_ROWS: list[list[object]] = [
    ["林志强", "138 0591 0001", "中共", "提案委", P1, "鼓楼区人民政府"],  # 2 good
    ["", "139 0591 0002", "民革", "经济委", P2, ""],  # 3 missing_name
    ["黄建华", "", "民盟", "", "", ""],  # 4 missing_phone
    ["郑丽萍", "1380591", "民建", "", "", ""],  # 5 bad_phone
    ["", "", "", "", "", ""],  # 6 blank: skipped silently
    ["林志强（重复）", "+86 138-0591-0001", "中共", "", "", ""],  # 7 duplicate_phone of row 2
    ["王芳", "150 0591 0005", "民盟", "", "", "某单位" * 80],  # 8 too_long (organisation)
    ["吴国栋", "139-0591-0006", "教育界", "提案委、社会和法制委", P4, "福建师范大学"],  # 9 good
]


def main() -> None:
    write_xlsx(HERE / "roster-sample.xlsx")
    write_csv(HERE / "roster-sample.csv", _rows(), HEADER)
    write_csv(HERE / "roster-bad-rows.csv", BAD_ROWS, BAD_ROWS_HEADER)


if __name__ == "__main__":
    main()
