"""The demo ERP's product master: 100 base products of Saudi retail and wholesale, and their wholesale packs.

Item ids are positions in this list (1-based). The demo key sees the 100 base products; the enterprise key
also sees each product's pack (ids 101-200) and carton (ids 201-300), so the first 100 are the same for both.
The order matters: SPEC section 12 puts its scenarios on fixed ids (see `data.SCENARIOS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

DemandLevel = Literal["high", "medium", "low", "slow", "dead"]


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    name: str
    name_ar: str


@dataclass(frozen=True, slots=True)
class Supplier:
    name: str
    lead_time_days: int


@dataclass(frozen=True, slots=True)
class Product:
    """One base product: what the shelf sells, with the two wholesale pack sizes it also comes in."""

    category: str
    name_en: str
    name_ar: str
    uom: str
    unit_cost: Decimal
    pack_size: int
    carton_size: int
    level: DemandLevel


CATEGORIES: Final[dict[str, Category]] = {
    category.code: category
    for category in (
        Category("BEV", "Beverages", "مشروبات"),
        Category("DAI", "Dairy", "ألبان"),
        Category("BAK", "Bakery", "مخبوزات"),
        Category("SNK", "Snacks", "وجبات خفيفة"),
        Category("GRC", "Grocery", "مواد غذائية"),
        Category("HHD", "Household", "مستلزمات منزلية"),
        Category("PRC", "Personal Care", "عناية شخصية"),
        Category("FRZ", "Frozen", "مجمدات"),
    )
}

# Each category's suppliers; a product takes one by its position, so the choice is stable.
SUPPLIERS: Final[dict[str, tuple[Supplier, ...]]] = {
    "BEV": (Supplier("Najd Beverages Trading Co.", 7), Supplier("Red Sea Water Company", 4)),
    "DAI": (Supplier("Al Qassim Dairy Distribution", 3),),
    "BAK": (Supplier("Riyadh Fresh Bakeries", 3),),
    "SNK": (Supplier("Al Safwa Snacks Distribution", 10), Supplier("Gulf Confectionery Imports", 21)),
    "GRC": (Supplier("Al Waha Food Distribution", 7), Supplier("Jazan Commodities Trading Est.", 18)),
    "HHD": (Supplier("Gulf Household Supplies", 14), Supplier("Eastern Province Trading Est.", 21)),
    "PRC": (Supplier("Hijaz Personal Care Co.", 12),),
    "FRZ": (Supplier("Arabian Frozen Foods Co.", 10),),
}


def _p(category: str, en: str, ar: str, uom: str, cost: str, pack: int, carton: int, level: DemandLevel) -> Product:
    return Product(category, en, ar, uom, Decimal(cost), pack, carton, level)


PRODUCTS: Final[tuple[Product, ...]] = (
    # 1-5: near stockout
    _p("BEV", "Bottled Drinking Water 330ml", "مياه شرب معبأة 330 مل", "EA", "0.55", 12, 40, "high"),
    _p("DAI", "Fresh Milk Full Fat 1L", "حليب طازج كامل الدسم 1 لتر", "EA", "5.25", 4, 12, "high"),
    _p("BAK", "Arabic Bread 6 pcs", "خبز عربي 6 أرغفة", "PK", "2.00", 5, 20, "high"),
    _p("DAI", "Laban 1L", "لبن 1 لتر", "EA", "4.50", 4, 12, "high"),
    _p("GRC", "Basmati Rice 5kg", "أرز بسمتي 5 كيلو", "EA", "39.00", 4, 8, "medium"),
    # 6-10: sudden demand spike
    _p("BEV", "Bottled Drinking Water 1.5L", "مياه شرب معبأة 1.5 لتر", "EA", "1.10", 6, 12, "high"),
    _p("BEV", "Mixed Berry Cordial 710ml", "شراب التوت المركز 710 مل", "EA", "9.75", 6, 12, "medium"),
    _p("PRC", "Hand Sanitizer 250ml", "معقم لليدين 250 مل", "EA", "8.75", 6, 24, "medium"),
    _p("GRC", "Kabsa Spice Mix 200g", "بهارات كبسة 200 غرام", "EA", "6.75", 6, 24, "medium"),
    _p("BEV", "Cola Soft Drink 330ml Can", "مشروب غازي كولا علبة 330 مل", "EA", "1.75", 6, 24, "high"),
    # 11-15: abnormally large transactions
    _p("GRC", "White Sugar 2kg", "سكر أبيض 2 كيلو", "EA", "7.50", 5, 10, "medium"),
    _p("GRC", "Sunflower Oil 1.5L", "زيت دوار الشمس 1.5 لتر", "EA", "13.25", 6, 12, "medium"),
    _p("GRC", "Tuna in Oil 185g", "تونة بالزيت 185 غرام", "EA", "6.50", 4, 48, "medium"),
    _p("HHD", "Laundry Powder 2.5kg", "مسحوق غسيل الملابس 2.5 كيلو", "EA", "27.50", 4, 6, "medium"),
    _p("HHD", "Toilet Paper 12 Rolls", "ورق حمام 12 لفة", "PK", "18.90", 3, 6, "medium"),
    # 16-60: normal demand
    _p("DAI", "Plain Yoghurt 500g", "زبادي طبيعي 500 غرام", "EA", "4.75", 4, 12, "high"),
    _p("SNK", "Potato Chips Salted 45g", "رقائق بطاطس مملحة 45 غرام", "EA", "1.60", 6, 24, "high"),
    _p("BEV", "Orange Juice 1L", "عصير برتقال 1 لتر", "EA", "6.25", 6, 12, "medium"),
    _p("FRZ", "Frozen Whole Chicken 1000g", "دجاج كامل مجمد 1000 غرام", "EA", "14.50", 4, 10, "high"),
    _p("HHD", "Dishwashing Liquid Lemon 1L", "سائل غسيل الصحون بالليمون 1 لتر", "EA", "7.90", 4, 12, "medium"),
    _p("PRC", "Shampoo 400ml", "شامبو 400 مل", "EA", "14.25", 4, 12, "medium"),
    _p("BAK", "Sliced White Bread 600g", "خبز توست أبيض 600 غرام", "EA", "4.75", 4, 12, "high"),
    _p("DAI", "Labneh 400g", "لبنة 400 غرام", "EA", "9.25", 4, 12, "medium"),
    _p("SNK", "Chocolate Wafer Bar 38g", "بسكويت ويفر بالشوكولاتة 38 غرام", "EA", "1.30", 12, 48, "high"),
    _p("GRC", "Spaghetti 400g", "معكرونة سباغيتي 400 غرام", "EA", "2.95", 10, 20, "medium"),
    _p("BEV", "Black Tea 100 Bags", "شاي أسود 100 كيس", "PK", "14.75", 6, 24, "medium"),
    _p("FRZ", "Frozen Mixed Vegetables 900g", "خضار مشكلة مجمدة 900 غرام", "EA", "8.50", 6, 12, "medium"),
    _p("PRC", "Bath Soap Bar 125g", "صابون استحمام 125 غرام", "EA", "2.75", 6, 48, "medium"),
    _p("DAI", "Processed Cheese Slices 200g", "شرائح جبن مطبوخ 200 غرام", "EA", "8.90", 6, 24, "medium"),
    _p("GRC", "Tomato Paste 135g", "معجون طماطم 135 غرام", "EA", "1.25", 8, 48, "medium"),
    _p("HHD", "Facial Tissues 200 Sheets", "مناديل وجه 200 ورقة", "EA", "3.50", 5, 30, "medium"),
    _p("SNK", "Khalas Dates 1kg", "تمر خلاص 1 كيلو", "EA", "22.00", 4, 10, "medium"),
    _p("BEV", "Mango Nectar 250ml", "رحيق مانجو 250 مل", "EA", "1.40", 6, 24, "medium"),
    _p("FRZ", "Frozen French Fries 2.5kg", "بطاطس مقلية مجمدة 2.5 كيلو", "EA", "17.75", 4, 8, "medium"),
    _p("PRC", "Toothpaste 100ml", "معجون أسنان 100 مل", "EA", "7.25", 6, 24, "medium"),
    _p("GRC", "Canned Chickpeas 400g", "حمص معلب 400 غرام", "EA", "2.75", 6, 24, "medium"),
    _p("DAI", "Long Life Milk 200ml", "حليب طويل الأجل 200 مل", "EA", "1.30", 6, 24, "medium"),
    _p("HHD", "Garbage Bags Large 30 pcs", "أكياس نفايات كبيرة 30 كيس", "PK", "8.25", 6, 24, "low"),
    _p("SNK", "Milk Chocolate Bar 100g", "لوح شوكولاتة بالحليب 100 غرام", "EA", "5.40", 6, 24, "medium"),
    _p("GRC", "Foul Medames 400g", "فول مدمس معلب 400 غرام", "EA", "2.40", 6, 24, "medium"),
    _p("FRZ", "Frozen Beef Burger 12 pcs", "برجر لحم بقري مجمد 12 قطعة", "PK", "19.90", 4, 12, "low"),
    _p("PRC", "Liquid Hand Soap 500ml", "صابون سائل لليدين 500 مل", "EA", "6.90", 6, 12, "low"),
    _p("DAI", "Unsalted Butter 200g", "زبدة غير مملحة 200 غرام", "EA", "10.40", 6, 24, "low"),
    _p("BEV", "Lemon Mint Juice 1L", "عصير ليمون بالنعناع 1 لتر", "EA", "5.50", 6, 12, "low"),
    _p("GRC", "Red Lentils 1kg", "عدس أحمر 1 كيلو", "EA", "7.90", 5, 10, "low"),
    _p("HHD", "All-Purpose Cleaner 750ml", "منظف متعدد الاستخدامات 750 مل", "EA", "8.40", 6, 12, "low"),
    _p("SNK", "Roasted Sunflower Seeds 200g", "بذور دوار الشمس محمصة 200 غرام", "EA", "3.75", 6, 24, "low"),
    _p("FRZ", "Frozen Vegetable Samosa 20 pcs", "سمبوسة خضار مجمدة 20 حبة", "PK", "13.25", 4, 12, "low"),
    _p("PRC", "Roll-On Deodorant 50ml", "مزيل عرق رول أون 50 مل", "EA", "9.90", 6, 24, "low"),
    _p("GRC", "White Flour 1kg", "دقيق أبيض 1 كيلو", "EA", "3.60", 10, 20, "low"),
    _p("BAK", "Brown Toast Bread 600g", "خبز توست أسمر 600 غرام", "EA", "5.25", 4, 12, "low"),
    _p("DAI", "White Feta Cheese 500g", "جبنة فيتا بيضاء 500 غرام", "EA", "14.50", 4, 12, "low"),
    _p("BEV", "Instant Coffee 200g", "قهوة سريعة التحضير 200 غرام", "EA", "29.50", 6, 12, "low"),
    _p("HHD", "Aluminium Foil 30m", "ورق ألمنيوم 30 متر", "EA", "9.75", 6, 24, "low"),
    _p("GRC", "Instant Noodles Chicken 75g", "نودلز سريعة التحضير بنكهة الدجاج 75 غرام", "EA", "1.10", 5, 40, "medium"),
    _p("SNK", "Potato Chips Chilli 170g", "رقائق بطاطس بالفلفل الحار 170 غرام", "EA", "6.90", 6, 12, "low"),
    _p("FRZ", "Frozen Okra 400g", "بامية مجمدة 400 غرام", "EA", "5.75", 6, 24, "low"),
    _p("PRC", "Baby Diapers Size 4, 40 pcs", "حفاضات أطفال مقاس 4، 40 حبة", "PK", "42.00", 3, 4, "low"),
    _p("DAI", "Cooking Cream 200ml", "كريمة طبخ 200 مل", "EA", "4.10", 6, 24, "low"),
    _p("BEV", "Energy Drink 250ml", "مشروب طاقة 250 مل", "EA", "4.20", 6, 24, "low"),
    # 61-65: dead stock
    _p("HHD", "Barbecue Charcoal 4kg", "فحم شواء 4 كيلو", "EA", "18.00", 3, 10, "dead"),
    _p("PRC", "Oud Perfume 100ml", "عطر عود 100 مل", "EA", "120.00", 3, 12, "dead"),
    _p("SNK", "Sukkari Dates Gift Box 3kg", "علبة هدايا تمر سكري 3 كيلو", "EA", "55.00", 3, 6, "dead"),
    _p("HHD", "Dishwasher Tablets 30 pcs", "أقراص غسالة الصحون 30 قرص", "PK", "32.00", 3, 6, "dead"),
    _p("FRZ", "Frozen Pizza Margherita 400g", "بيتزا مارغريتا مجمدة 400 غرام", "EA", "12.75", 4, 12, "dead"),
    # 66-100: normal demand, with the slow movers among them
    _p("GRC", "Green Cardamom 250g", "هيل أخضر 250 غرام", "EA", "32.00", 4, 12, "slow"),
    _p("GRC", "Natural Honey 500g", "عسل طبيعي 500 غرام", "EA", "28.00", 4, 12, "slow"),
    _p("SNK", "Roasted Pistachios 250g", "فستق حلبي محمص 250 غرام", "EA", "24.00", 4, 12, "slow"),
    _p("PRC", "Body Lotion 400ml", "لوشن للجسم 400 مل", "EA", "16.75", 4, 12, "slow"),
    _p("PRC", "Sunscreen SPF50 100ml", "واقي شمس SPF50 100 مل", "EA", "39.00", 3, 12, "slow"),
    _p("BEV", "Saudi Coffee Blend 500g", "قهوة سعودية مطحونة 500 غرام", "EA", "38.00", 4, 12, "low"),
    _p("HHD", "Oud Incense 50g", "بخور عود 50 غرام", "EA", "35.00", 4, 12, "slow"),
    _p("FRZ", "Frozen Shrimp 1kg", "روبيان مجمد 1 كيلو", "EA", "45.00", 4, 10, "slow"),
    _p("DAI", "Cream Cheese Spread 500g", "جبن كريمي قابل للدهن 500 غرام", "EA", "17.25", 4, 12, "low"),
    _p("SNK", "Mixed Nuts 300g", "مكسرات مشكلة 300 غرام", "EA", "19.50", 4, 12, "slow"),
    _p("GRC", "Tahini 450g", "طحينة 450 غرام", "EA", "11.50", 6, 12, "low"),
    _p("HHD", "Liquid Laundry Detergent 3L", "منظف غسيل سائل 3 لتر", "EA", "34.00", 3, 6, "low"),
    _p("PRC", "Shaving Foam 200ml", "رغوة حلاقة 200 مل", "EA", "9.25", 6, 24, "slow"),
    _p("BEV", "Sparkling Mineral Water 330ml", "مياه معدنية فوارة 330 مل", "EA", "2.10", 6, 24, "low"),
    _p("FRZ", "Vanilla Ice Cream 2L", "آيس كريم فانيلا 2 لتر", "EA", "16.50", 4, 8, "low"),
    _p("GRC", "Cornflakes 500g", "رقائق الذرة 500 غرام", "EA", "12.25", 4, 12, "low"),
    _p("DAI", "Evaporated Milk 170g", "حليب مبخر 170 غرام", "EA", "2.60", 6, 48, "low"),
    _p("HHD", "Household Bleach 3.78L", "مبيض منزلي 3.78 لتر", "EA", "11.25", 3, 6, "low"),
    _p("SNK", "Digestive Biscuits 400g", "بسكويت دايجستيف 400 غرام", "EA", "7.25", 6, 12, "low"),
    _p("PRC", "Toothbrush Medium", "فرشاة أسنان متوسطة الخشونة", "EA", "5.50", 6, 48, "low"),
    _p("BAK", "Plain Croissant 6 pcs", "كرواسون سادة 6 حبات", "PK", "7.50", 4, 12, "low"),
    _p("GRC", "Strawberry Jam 450g", "مربى الفراولة 450 غرام", "EA", "8.25", 6, 12, "low"),
    _p("FRZ", "Frozen Green Peas 900g", "بازلاء خضراء مجمدة 900 غرام", "EA", "7.25", 6, 12, "slow"),
    _p("HHD", "Kitchen Towels 4 Rolls", "مناشف مطبخ ورقية 4 لفات", "PK", "11.50", 3, 6, "low"),
    _p("PRC", "Baby Wipes 72 pcs", "مناديل مبللة للأطفال 72 منديل", "PK", "7.50", 6, 12, "low"),
    _p("DAI", "Strawberry Flavoured Milk 180ml", "حليب بنكهة الفراولة 180 مل", "EA", "1.50", 6, 24, "medium"),
    _p("SNK", "Date Maamoul 16 pcs", "معمول بالتمر 16 قطعة", "PK", "8.75", 6, 12, "low"),
    _p("GRC", "Iodized Salt 700g", "ملح طعام مدعم باليود 700 غرام", "EA", "1.50", 6, 24, "low"),
    _p("HHD", "Oud Air Freshener 300ml", "معطر جو برائحة العود 300 مل", "EA", "10.50", 6, 24, "slow"),
    _p("BEV", "Apple Juice 200ml", "عصير تفاح 200 مل", "EA", "1.15", 6, 24, "medium"),
    _p("FRZ", "Frozen Chicken Breast 1kg", "صدور دجاج مجمدة 1 كيلو", "EA", "24.00", 4, 10, "low"),
    _p("PRC", "Cotton Buds 200 pcs", "أعواد قطنية 200 عود", "PK", "4.50", 6, 24, "slow"),
    _p("HHD", "Plastic Food Wrap 30m", "غلاف بلاستيكي للطعام 30 متر", "EA", "7.50", 6, 24, "slow"),
    _p("BAK", "Samoli Bread 6 pcs", "خبز صامولي 6 حبات", "PK", "3.25", 5, 20, "medium"),
    _p("SNK", "Gummy Candy 80g", "حلوى جيلي 80 غرام", "EA", "2.90", 6, 24, "low"),
)

if len(PRODUCTS) != 100:  # pragma: no cover - a guard on the table above
    raise RuntimeError(f"the demo catalogue needs exactly 100 base products, not {len(PRODUCTS)}")


def arabic_count(count: int) -> str:
    """`count` pieces in Arabic: 3 to 10 take the plural (حبات), 11 and more the singular (حبة)."""
    return f"{count} حبات" if 3 <= count <= 10 else f"{count} حبة"
