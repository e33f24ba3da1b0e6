//! Path names: what each name builds, canonical names round-tripping, errors naming the token.

use flowmatching::path::{
    parse_path_list, Cosine, Coupling, Linear, PathSpec, Polynomial, StochasticInterpolant,
    VariancePreserving,
};
use Coupling::{ExactOt, Independent};

fn parse(spec: &str) -> PathSpec {
    spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
}

#[test]
fn names_build_the_documented_paths() {
    let linear = Linear::new();
    let vp = VariancePreserving::default();
    let bridge = StochasticInterpolant::default();
    let cases = [
        ("linear", PathSpec::new(linear, Independent)),
        ("ot", PathSpec::new(linear, ExactOt)),
        ("linear+ot", PathSpec::new(linear, ExactOt)),
        ("linear:sigma_min=0.01", PathSpec::new(Linear { sigma_min: 0.01 }, Independent)),
        ("ot:sigma_min=0.1", PathSpec::new(Linear { sigma_min: 0.1 }, ExactOt)),
        ("quadratic", PathSpec::new(Polynomial { n: 2 }, Independent)),
        ("poly:2", PathSpec::new(Polynomial { n: 2 }, Independent)),
        ("poly:n=5", PathSpec::new(Polynomial { n: 5 }, Independent)),
        ("poly:3+ot", PathSpec::new(Polynomial { n: 3 }, ExactOt)),
        ("cosine", PathSpec::new(Cosine, Independent)),
        ("vp", PathSpec::new(vp, Independent)),
        ("vp:0.1:20", PathSpec::new(vp, Independent)),
        (
            "vp:0.5:10",
            PathSpec::new(VariancePreserving { beta_min: 0.5, beta_max: 10.0 }, Independent),
        ),
        (
            "vp:beta_max=5",
            PathSpec::new(VariancePreserving { beta_min: 0.1, beta_max: 5.0 }, Independent),
        ),
        ("vp:1e-1:2e+1", PathSpec::new(vp, Independent)),
        ("stochastic", PathSpec::new(bridge, Independent)),
        ("sb", PathSpec::new(bridge, ExactOt)),
        ("stochastic+ot", PathSpec::new(bridge, ExactOt)),
        ("sb+independent", PathSpec::new(bridge, Independent)),
        (
            "sb:s=0.5:eps=0.01",
            PathSpec::new(StochasticInterpolant { s: 0.5, t_eps: 0.01 }, ExactOt),
        ),
        (" cosine ", PathSpec::new(Cosine, Independent)),
    ];
    for (name, expected) in cases {
        assert_eq!(parse(name), expected, "{name}");
    }
}

#[test]
fn canonical_names() {
    let cases = [
        ("linear", "linear"),
        ("linear+ot", "ot"),
        ("linear:sigma_min=0.0", "linear"),
        ("poly:2", "quadratic"),
        ("poly:n=7", "poly:7"),
        ("cosine+indep", "cosine"),
        ("cosine+ot", "cosine+ot"),
        ("vp:0.1:20", "vp"),
        ("vp:beta_min=0.25", "vp:0.25:20"),
        ("stochastic+ot", "sb"),
        ("sb+independent", "stochastic"),
        ("stochastic:eps=0.001:s=1", "stochastic"),
        ("sb:s=0.25", "sb:s=0.25"),
    ];
    for (name, canonical) in cases {
        assert_eq!(parse(name).to_string(), canonical, "{name}");
    }
}

#[test]
fn display_then_parse_is_the_identity() {
    let names = [
        "linear",
        "ot",
        "linear:sigma_min=0.0123456789",
        "ot:sigma_min=1e-7",
        "quadratic",
        "quadratic+ot",
        "poly:1",
        "poly:9+ot",
        "cosine",
        "cosine+ot",
        "vp",
        "vp:0.3333333333333333:17.1",
        "vp+ot",
        "stochastic",
        "stochastic:s=0.1",
        "sb",
        "sb:s=0:eps=0.2",
        "stochastic:eps=0.0001",
    ];
    for name in names {
        let spec = parse(name);
        assert_eq!(parse(&spec.to_string()), spec, "{name} -> {spec}");
    }
}

#[test]
fn the_lead_s_list_parses() {
    let specs = parse_path_list("linear,quadratic,cosine,vp,ot,sb").unwrap();
    let names: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
    assert_eq!(names, ["linear", "quadratic", "cosine", "vp", "ot", "sb"]);
    assert_eq!(specs[4].coupling, ExactOt);
    assert_eq!(specs[5].coupling, ExactOt);
    assert_eq!(specs[0].coupling, Independent);
}

#[test]
fn errors_name_the_bad_token() {
    let cases = [
        ("foo", "`foo`"),
        ("", "``"),
        ("poly", "poly"),
        ("poly:x", "`x`"),
        ("poly:0", "`0`"),
        ("poly:2:3", "`3`"),
        ("poly:m=2", "`m=2`"),
        ("cosine:3", "`3`"),
        ("quadratic:x", "`x`"),
        ("linear:sigma_min=2", "`sigma_min=2`"),
        ("linear:sigma_min=abc", "`sigma_min=abc`"),
        ("linear:sigma=0.1", "`sigma=0.1`"),
        ("ot:sigma_min=nan", "`sigma_min=nan`"),
        ("vp:1", "`1`"),
        ("vp:1:0.5", "`0.5`"),
        ("vp:-1:20", "`-1`"),
        ("vp:beta_min=0", "`beta_min=0`"),
        ("vp:inf:20", "`inf`"),
        ("stochastic:s=-1", "`s=-1`"),
        ("sb:eps=0.7", "`eps=0.7`"),
        ("sb:t=0.1", "`t=0.1`"),
        ("linear+sinkhorn", "`sinkhorn`"),
        ("linear+", "``"),
    ];
    for (name, token) in cases {
        let err = match name.parse::<PathSpec>() {
            Ok(spec) => panic!("{name:?} parsed as {spec:?}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(token), "{name:?}: error {err:?} does not name {token}");
        assert!(err.contains(&format!("`{}`", name.trim())), "{name:?}: error {err:?}");
    }
}

#[test]
fn list_errors_name_the_bad_item() {
    let err = parse_path_list("linear,cosin,vp").unwrap_err().to_string();
    assert!(err.contains("`cosin`"), "{err}");
    assert!(parse_path_list("linear,,vp").is_err());
}
