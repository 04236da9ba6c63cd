"""The documentation's own tests. Only the transport differs: the documentation drives the
app in-process with FastAPI's TestClient(app); here `client` is an httpx.Client whose
base_url is the running server (see conftest.py). The test bodies are unchanged."""


def test_send_rpc(client):
    response = client.post("/rpc/send", json={
        "app_name": "test_app",
        "func_name": "test_func",
        "destination": "test@example.com",
        "params": {"test": True},
        "blocking": False
    })
    
    assert response.status_code == 200
    data = response.json()
    assert "id" in data
    assert data["status"] == "pending"

def test_get_status(client):
    # First create a request
    send_response = client.post("/rpc/send", json={
        "app_name": "test_app",
        "func_name": "test_func",
        "destination": "test@example.com",
        "params": {},
        "blocking": False
    })
    
    request_id = send_response.json()["id"]
    
    # Get status
    status_response = client.get(f"/rpc/status/{request_id}")
    assert status_response.status_code == 200
    
    status = status_response.json()
    assert status["id"] == request_id
    assert status["status"] in ["pending", "processing", "completed", "failed"]

def test_invalid_request(client):
    response = client.post("/rpc/send", json={
        "app_name": "",  # Invalid empty app name
        "func_name": "test",
        "destination": "test@example.com",
        "params": {}
    })
    
    assert response.status_code == 422  # Validation error
