"""A small grocery shop with real product text: six departments, shoppers with one or two
tastes, profile fields that go with them. Small enough to train in seconds, real enough that
English and Chinese searches and text-based cold start have known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from coldrec.data import Dataset

DEPARTMENTS = {
    "Grocery > Coffee": ["Dark Roast Whole Bean Coffee", "Colombian Ground Coffee",
                         "Espresso Coffee Pods", "Decaf Instant Coffee",
                         "French Vanilla Coffee Creamer", "Cold Brew Coffee Bags"],
    "Grocery > Tea": ["Green Tea Bags", "Earl Grey Black Tea", "Chamomile Herbal Tea",
                      "Jasmine Loose Leaf Tea", "Peppermint Tea", "Matcha Green Tea Powder"],
    "Grocery > Dairy": ["Whole Milk Gallon", "Greek Yogurt Plain", "Cheddar Cheese Block",
                        "Unsalted Butter", "Skim Milk Half Gallon", "Mozzarella String Cheese"],
    "Garden > Outdoor": ["Tomato Plant Fertilizer", "Garden Hose 50 ft", "Pruning Shears",
                         "Lawn Grass Seed", "Potting Soil Mix", "Flower Seeds Variety Pack"],
    "Pet > Dogs": ["Chicken Dry Dog Food", "Dog Chew Toy Rope", "Puppy Training Pads",
                   "Beef Dog Treats", "Dog Shampoo Oatmeal", "Salmon Wet Dog Food"],
    "Baby > Care": ["Sensitive Baby Wipes", "Newborn Diapers Size 1", "Baby Shampoo Tear Free",
                    "Infant Formula Powder", "Baby Lotion Gentle", "Diaper Rash Cream"],
}
#: what a shopper of each taste tells the profile form
PROFILE = {"Grocery > Coffee": ("25-34", "No Kids"), "Grocery > Tea": ("45-54", "No Kids"),
           "Grocery > Dairy": ("35-44", "Kids"), "Garden > Outdoor": ("55-64", "No Kids"),
           "Pet > Dogs": ("35-44", "No Kids"), "Baby > Care": ("25-34", "Kids")}


def shop_frames(n_users: int = 90, seed: int = 0
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    deps = list(DEPARTMENTS)
    catalog_rows, by_dep = [], {}
    for d, (dep, titles) in enumerate(DEPARTMENTS.items()):
        by_dep[dep] = []
        for j, title in enumerate(titles):
            item = f"p{d}{j}"
            by_dep[dep].append(item)
            catalog_rows.append({"item_id": item, "title": title, "category": dep,
                                 "brand": "Shopwell", "price": round(2.0 + 1.5 * j + d, 2)})
    events, users = [], []
    t = 1_700_000_000
    for u in range(n_users):
        main = deps[u % len(deps)]
        tastes = [main] if u % 3 else [main, deps[(u + 1) % len(deps)]]
        age, kids = PROFILE[main]
        users.append({"user_id": f"u{u:03d}", "age": age, "household": kids})
        # the shelf's first products are the department's best sellers
        for dep in tastes:
            pool = by_dep[dep]
            weights = np.linspace(2.0, 1.0, len(pool))
            picks = rng.choice(len(pool), size=4, replace=False, p=weights / weights.sum())
            for p in picks:
                t += 60
                events.append({"user_id": f"u{u:03d}", "item_id": pool[p], "timestamp": t,
                               "event_type": "purchase"})
    return pd.DataFrame(events), pd.DataFrame(catalog_rows), pd.DataFrame(users)


def shop_dataset(n_users: int = 90, seed: int = 0) -> Dataset:
    events, catalog, users = shop_frames(n_users, seed)
    return Dataset.from_frames(events, catalog, users, name="shop")
