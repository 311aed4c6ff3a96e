//! S2-33: which centre answers an online question. The tenant keeps a
//! district → centre table («ближайший центр» for each district) and one
//! fallback centre for districts without a route (or an unknown district).
use uuid::Uuid;

/// Where a question goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub centre: Uuid,
    /// The district had no route; the fallback centre got it.
    pub fallback: bool,
}

/// The district's own centre when it has a route, else the fallback centre;
/// `None` when the tenant has neither (questions cannot be accepted).
pub fn route(district_centre: Option<Uuid>, fallback: Option<Uuid>) -> Option<Route> {
    match (district_centre, fallback) {
        (Some(centre), _) => Some(Route { centre, fallback: false }),
        (None, Some(centre)) => Some(Route { centre, fallback: true }),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_routed_district_wins_over_the_fallback() {
        let (a, f) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(route(Some(a), Some(f)), Some(Route { centre: a, fallback: false }));
        assert_eq!(route(Some(a), None), Some(Route { centre: a, fallback: false }));
        assert_eq!(route(None, Some(f)), Some(Route { centre: f, fallback: true }));
        assert_eq!(route(None, None), None);
    }
}
