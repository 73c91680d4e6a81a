{
    "name": "G2P Bank REST API",
    "summary": "REST APIs for enrollment systems (registry) and for the sponsor bank",
    "version": "18.0.1.1.0",
    "category": "G2P",
    "author": "G2P Bank suite contributors",
    "website": "https://github.com/g2p-bank/g2p-bank",
    "license": "LGPL-3",
    "development_status": "Beta",
    "maintainers": ["g2p-bank"],
    "depends": [
        "g2p_bank",
        "g2p_bank_simulator",
        "fastapi",
        "extendable_fastapi",
        "fastapi_auth_api_key",
    ],
    "external_dependencies": {
        "python": ["pydantic", "extendable-pydantic", "pycountry"]
    },
    "data": [
        "security/g2p_bank_rest_api_security.xml",
        "data/fastapi_endpoint_data.xml",
        "data/fastapi_endpoint_registry_data.xml",
    ],
    "demo": [
        "demo/g2p_bank_rest_api_demo.xml",
        "demo/g2p_registry_api_demo.xml",
    ],
    "installable": True,
}
