"""Client classes from the syft-proxy package documentation, copied verbatim.

They are exercised unchanged against the server over HTTP by test_seed_examples.py.
Only the imports they need are added here; the class and function bodies are the
documentation's own.
"""
import time
from typing import Any, Dict, List

import httpx


class ProxyClient:
    def __init__(self, proxy_url: str = "http://localhost:8000"):
        self.proxy_url = proxy_url
        self.client = httpx.Client()
    
    def call(self, app: str, func: str, destination: str, 
             params: Dict[str, Any], timeout: float = 30.0) -> Any:
        """Make a blocking RPC call."""
        response = self.client.post(
            f"{self.proxy_url}/rpc/send",
            json={
                "app_name": app,
                "func_name": func,
                "destination": destination,
                "params": params,
                "blocking": True,
                "timeout": timeout
            }
        )
        response.raise_for_status()
        
        result = response.json()
        if result["status"] == "failed":
            raise Exception(f"RPC failed: {result['error']}")
        
        return result["result"]
    
    def call_async(self, app: str, func: str, destination: str,
                   params: Dict[str, Any]) -> str:
        """Make a non-blocking RPC call."""
        response = self.client.post(
            f"{self.proxy_url}/rpc/send",
            json={
                "app_name": app,
                "func_name": func,
                "destination": destination,
                "params": params,
                "blocking": False
            }
        )
        response.raise_for_status()
        return response.json()["id"]
    
    def get_status(self, request_id: str) -> Dict[str, Any]:
        """Get status of an RPC request."""
        response = self.client.get(
            f"{self.proxy_url}/rpc/status/{request_id}"
        )
        response.raise_for_status()
        return response.json()


class ServiceRegistry:
    def __init__(self, proxy_url: str):
        self.proxy_url = proxy_url
        self.client = httpx.Client()
    
    def discover_services(self, app_names: List[str]) -> Dict[str, Any]:
        """Discover available services and their schemas."""
        services = {}
        
        for app in app_names:
            try:
                response = self.client.get(
                    f"{self.proxy_url}/rpc/schema/{app}"
                )
                if response.status_code == 200:
                    services[app] = response.json()
            except:
                pass
        
        return services
    
    def list_functions(self, app: str) -> List[str]:
        """List available functions for an app."""
        schema = self.discover_services([app]).get(app, {})
        return list(schema.get("functions", {}).keys())


class BatchProcessor:
    def __init__(self, proxy_client: ProxyClient):
        self.proxy = proxy_client
    
    def batch_call(self, requests: List[Dict]) -> List[Any]:
        """Execute multiple RPC calls in parallel."""
        import concurrent.futures
        
        # Submit all requests
        request_ids = []
        with concurrent.futures.ThreadPoolExecutor() as executor:
            futures = []
            for req in requests:
                future = executor.submit(
                    self.proxy.call_async,
                    req["app"],
                    req["func"],
                    req["destination"],
                    req["params"]
                )
                futures.append(future)
            
            # Collect request IDs
            for future in concurrent.futures.as_completed(futures):
                request_ids.append(future.result())
        
        # Wait for all results
        results = []
        for req_id in request_ids:
            while True:
                status = self.proxy.get_status(req_id)
                if status["status"] == "completed":
                    results.append(status["result"])
                    break
                elif status["status"] == "failed":
                    results.append({"error": status["error"]})
                    break
                time.sleep(0.1)
        
        return results


from enum import Enum

class RPCError(Exception):
    pass

class RPCTimeoutError(RPCError):
    pass

class RPCExecutionError(RPCError):
    pass

def safe_rpc_call(proxy: ProxyClient, **kwargs) -> Any:
    """Make an RPC call with comprehensive error handling."""
    try:
        # Start the call
        request_id = proxy.call_async(**kwargs)
        
        # Poll for result with timeout
        start_time = time.time()
        timeout = kwargs.get("timeout", 30.0)
        
        while time.time() - start_time < timeout:
            try:
                status = proxy.get_status(request_id)
                
                if status["status"] == "completed":
                    return status["result"]
                elif status["status"] == "failed":
                    raise RPCExecutionError(status["error"])
                
                time.sleep(0.5)
                
            except httpx.HTTPStatusError as e:
                if e.response.status_code == 404:
                    # Request not found, might be too early
                    time.sleep(0.5)
                    continue
                raise
        
        raise RPCTimeoutError(f"RPC call timed out after {timeout}s")
        
    except httpx.RequestError as e:
        raise RPCError(f"Network error: {e}")
    except Exception as e:
        raise RPCError(f"Unexpected error: {e}")


class LoadBalancer:
    def __init__(self, proxy_urls: List[str]):
        self.proxy_urls = proxy_urls
        self.current = 0
    
    def get_next_proxy(self) -> str:
        """Round-robin load balancing."""
        proxy = self.proxy_urls[self.current]
        self.current = (self.current + 1) % len(self.proxy_urls)
        return proxy
    
    def call(self, **kwargs) -> Any:
        """Make RPC call through load-balanced proxies."""
        proxy_url = self.get_next_proxy()
        client = ProxyClient(proxy_url)
        return client.call(**kwargs)

